/**
 * The contract between the LwM2M server engine and wherever registrations
 * and observations live.
 *
 * Lookups and changes are synchronous: the engine consults the store for
 * every datagram (which registration is this peer? is this token one of our
 * observations?), and an await there would let two requests of one device
 * interleave between lookup and change. Every store therefore keeps its
 * working set in memory, indexed, and persistence happens behind it:
 * `flush()` and `close()` are the asynchronous points where a file, or a
 * remote store such as Redis written through from the same in-memory index,
 * catches up. Loading happens once, asynchronously, before the store is
 * handed to the engine (see FileRegistrationStore.open).
 */
import type { Registration } from './registration.js';

/** Notification attribute values as set by Write-Attributes (`pmin=10`, `edge=1`, bare `con`). */
export type ObservationAttributes = Readonly<Record<string, string | number | true>>;

/** What the server needs to recognise notifications of an observation after a restart. */
export interface ObservationRecord {
  /** The CoAP token of the Observe request, lower-case hex. */
  readonly token: string;
  readonly registrationId: string;
  /** Observed paths ("/3/0/9"); one for a single observation, one or more for a composite one. */
  readonly paths: readonly string[];
  /** Content format asked for (Accept), when one was. */
  readonly format?: number;
  readonly kind: 'single' | 'composite';
  /** Notification attributes written for the observation, when any. */
  readonly attributes?: ObservationAttributes;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

/** True for a token as stores keep it: lower-case hex of 0 to 8 bytes. */
export function isValidToken(token: string): boolean {
  return /^(?:[0-9a-f]{2}){0,8}$/.test(token);
}

/** The result of adding a registration. */
export interface AddResult {
  /** The earlier registration of the same endpoint, now gone (a client registering again replaces itself). */
  readonly replaced?: Registration;
  /** Observations of the replaced registration, now removed: the engine ends them. */
  readonly endedObservations: readonly ObservationRecord[];
}

/** A registration taken out of the store, with the observations that went with it. */
export interface RemovedRegistration {
  readonly registration: Registration;
  readonly observations: readonly ObservationRecord[];
}

export interface RegistrationStore {
  /** Number of registrations. */
  readonly size: number;

  /** Lookups, each O(1). */
  get(registrationId: string): Registration | undefined;
  getByEndpoint(endpoint: string): Registration | undefined;
  /** The registration last seen from this transport address (PeerInfo.key). */
  getByPeer(peerKey: string): Registration | undefined;

  /**
   * Adds a new registration. An existing registration of the same endpoint
   * is removed first (with its observations) and reported. Throws when the
   * registration id is already in use.
   */
  add(registration: Registration): AddResult;
  /**
   * Replaces the stored record that has `registration.id` (after an Update)
   * and returns the previous one; undefined, with nothing changed, when the
   * id is unknown (the engine answers 4.04). Throws when the endpoint changed.
   */
  update(registration: Registration): Registration | undefined;
  /** Removes a registration (De-register) and its observations. */
  remove(registrationId: string): RemovedRegistration | undefined;

  /** Every registration, in no promised order. */
  registrations(): IterableIterator<Registration>;

  /** The earliest `expiresAt` of all registrations, for the engine's single expiry timer. */
  nextExpiry(): number | undefined;
  /**
   * Removes and returns, earliest first, every registration with
   * `expiresAt + graceMs <= now`, with its observations. Costs
   * O(k log n) for k expired registrations, never a scan of all of them.
   */
  removeExpired(now: number, graceMs?: number): RemovedRegistration[];

  /**
   * Records an observation (replacing one with the same token). Throws
   * Lwm2mError 4.04 when its registration is unknown.
   */
  addObservation(observation: ObservationRecord): void;
  getObservation(token: string): ObservationRecord | undefined;
  removeObservation(token: string): ObservationRecord | undefined;
  /** Observations of one registration. */
  observationsOf(registrationId: string): ObservationRecord[];
  /** Every observation, in no promised order. */
  observations(): IterableIterator<ObservationRecord>;
  /** Number of observations. */
  readonly observationCount: number;

  /** Resolves when every change made so far is persisted (at once for a memory store). */
  flush(): Promise<void>;
  /** Flushes and releases timers and files. The store must not be used afterwards. */
  close(): Promise<void>;
}
