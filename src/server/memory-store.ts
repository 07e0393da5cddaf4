/**
 * The in-memory registration store: the indexes every store works from.
 * Persistent stores extend it and hear about each change through
 * `onChange()`.
 */
import { CoapCode, Lwm2mError } from '../errors.js';
import { ExpiryQueue } from './expiry-queue.js';
import type { Registration } from './registration.js';
import {
  isValidToken,
  type AddResult,
  type ObservationRecord,
  type RegistrationStore,
  type RemovedRegistration,
} from './registration-store.js';

const NO_OBSERVATIONS: readonly ObservationRecord[] = Object.freeze([]);


export class MemoryRegistrationStore implements RegistrationStore {
  private readonly byId = new Map<string, Registration>();
  /** endpoint → registration id (one registration per endpoint). */
  private readonly byEndpoint = new Map<string, string>();
  /** peer key → id of the registration last seen from that address. */
  private readonly byPeer = new Map<string, string>();
  private readonly expiry = new ExpiryQueue();

  private readonly byToken = new Map<string, ObservationRecord>();
  /** registration id → tokens of its observations (only for registrations that have some). */
  private readonly tokensByRegistration = new Map<string, Set<string>>();

  get size(): number {
    return this.byId.size;
  }

  get observationCount(): number {
    return this.byToken.size;
  }

  get(registrationId: string): Registration | undefined {
    return this.byId.get(registrationId);
  }

  getByEndpoint(endpoint: string): Registration | undefined {
    const id = this.byEndpoint.get(endpoint);
    return id === undefined ? undefined : this.byId.get(id);
  }

  getByPeer(peerKey: string): Registration | undefined {
    const id = this.byPeer.get(peerKey);
    return id === undefined ? undefined : this.byId.get(id);
  }

  add(registration: Registration): AddResult {
    if (this.byId.has(registration.id)) {
      throw new Lwm2mError(CoapCode.InternalServerError, `registration id ${registration.id} is already in use`);
    }
    const previousId = this.byEndpoint.get(registration.endpoint);
    const previous = previousId === undefined ? undefined : this.detach(previousId);

    this.byId.set(registration.id, registration);
    this.byEndpoint.set(registration.endpoint, registration.id);
    if (registration.peer.key !== '') this.byPeer.set(registration.peer.key, registration.id);
    this.expiry.push(registration.expiresAt, registration.id);
    this.dropStaleExpiryEntries();
    this.onChange();
    return previous === undefined
      ? { endedObservations: NO_OBSERVATIONS }
      : { replaced: previous.registration, endedObservations: previous.observations };
  }

  update(registration: Registration): Registration | undefined {
    const previous = this.byId.get(registration.id);
    if (previous === undefined) return undefined;
    if (previous.endpoint !== registration.endpoint) {
      throw new Lwm2mError(CoapCode.InternalServerError, `registration ${registration.id} cannot change its endpoint name`);
    }
    this.byId.set(registration.id, registration);
    const oldKey = previous.peer.key;
    const newKey = registration.peer.key;
    if (oldKey !== newKey && oldKey !== '' && this.byPeer.get(oldKey) === registration.id) this.byPeer.delete(oldKey);
    // The peer that sent this Update is this registration now, whatever registered from there before.
    if (newKey !== '') this.byPeer.set(newKey, registration.id);
    if (registration.expiresAt !== previous.expiresAt) {
      this.expiry.push(registration.expiresAt, registration.id);
      this.dropStaleExpiryEntries();
    }
    this.onChange();
    return previous;
  }

  remove(registrationId: string): RemovedRegistration | undefined {
    const removed = this.detach(registrationId);
    if (removed) this.onChange();
    return removed;
  }

  registrations(): IterableIterator<Registration> {
    return this.byId.values();
  }

  nextExpiry(): number | undefined {
    this.skipStaleExpiryEntries();
    return this.expiry.peekTime();
  }

  removeExpired(now: number, graceMs = 0): RemovedRegistration[] {
    const removed: RemovedRegistration[] = [];
    for (;;) {
      this.skipStaleExpiryEntries();
      const time = this.expiry.peekTime();
      if (time === undefined || time + graceMs > now) break;
      const id = this.expiry.peekId()!;
      this.expiry.pop();
      const entry = this.detach(id);
      if (entry) removed.push(entry);
    }
    if (removed.length > 0) this.onChange();
    return removed;
  }

  addObservation(observation: ObservationRecord): void {
    const token = observation.token.toLowerCase();
    if (!isValidToken(token)) {
      throw new Lwm2mError(CoapCode.InternalServerError, `observation token "${observation.token}" is not 0..8 bytes of hex`);
    }
    if (!this.byId.has(observation.registrationId)) {
      throw new Lwm2mError(CoapCode.NotFound, `no registration ${observation.registrationId} for observation ${token}`);
    }
    const record = token === observation.token ? observation : { ...observation, token };
    this.unlinkObservation(token);
    this.byToken.set(token, record);
    let tokens = this.tokensByRegistration.get(record.registrationId);
    if (!tokens) {
      tokens = new Set();
      this.tokensByRegistration.set(record.registrationId, tokens);
    }
    tokens.add(token);
    this.onChange();
  }

  getObservation(token: string): ObservationRecord | undefined {
    return this.byToken.get(token.toLowerCase());
  }

  removeObservation(token: string): ObservationRecord | undefined {
    const removed = this.unlinkObservation(token.toLowerCase());
    if (removed) this.onChange();
    return removed;
  }

  observationsOf(registrationId: string): ObservationRecord[] {
    const tokens = this.tokensByRegistration.get(registrationId);
    if (!tokens) return [];
    return [...tokens].map((token) => this.byToken.get(token)!);
  }

  observations(): IterableIterator<ObservationRecord> {
    return this.byToken.values();
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Called after every change; persistent stores schedule a write here. */
  protected onChange(): void {
    // Nothing to persist in memory.
  }

  /** Takes a registration and its observations out of every index, without reporting a change. */
  private detach(registrationId: string): RemovedRegistration | undefined {
    const registration = this.byId.get(registrationId);
    if (registration === undefined) return undefined;
    this.byId.delete(registrationId);
    if (this.byEndpoint.get(registration.endpoint) === registrationId) this.byEndpoint.delete(registration.endpoint);
    const key = registration.peer.key;
    if (key !== '' && this.byPeer.get(key) === registrationId) this.byPeer.delete(key);
    const observations = this.observationsOf(registrationId);
    for (const observation of observations) this.byToken.delete(observation.token);
    this.tokensByRegistration.delete(registrationId);
    return { registration, observations };
  }

  private unlinkObservation(token: string): ObservationRecord | undefined {
    const observation = this.byToken.get(token);
    if (observation === undefined) return undefined;
    this.byToken.delete(token);
    const tokens = this.tokensByRegistration.get(observation.registrationId);
    if (tokens) {
      tokens.delete(token);
      if (tokens.size === 0) this.tokensByRegistration.delete(observation.registrationId);
    }
    return observation;
  }

  /** An expiry entry is live when its registration still exists with that expiry time. */
  private isLive(time: number, id: string): boolean {
    return this.byId.get(id)?.expiresAt === time;
  }

  private skipStaleExpiryEntries(): void {
    for (;;) {
      const time = this.expiry.peekTime();
      if (time === undefined || this.isLive(time, this.expiry.peekId()!)) return;
      this.expiry.pop();
    }
  }

  /**
   * Updates and removals leave stale entries behind. Once they outnumber the live ones
   * the heap is rebuilt from the registrations: O(n) every ~n updates, so
   * O(1) per update, and the heap stays within twice the registration count.
   */
  private dropStaleExpiryEntries(): void {
    if (this.expiry.length <= 2 * this.byId.size + 64) return;
    this.expiry.rebuild(this.expiryEntries());
  }

  private *expiryEntries(): IterableIterator<readonly [number, string]> {
    for (const registration of this.byId.values()) yield [registration.expiresAt, registration.id];
  }
}
