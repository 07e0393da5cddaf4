/**
 * The server events a firmware job cares about, routed by endpoint name.
 * One listener per event on the server, however many jobs run (a campaign
 * of a thousand devices would otherwise hang thousands of listeners on the
 * server); attached while someone listens, detached after the last one.
 */
import type { Lwm2mServer, NotificationEvent, ObservationInfo } from './lwm2m-server.js';
import type { Registration } from './registration.js';

export interface DeviceEventHandlers {
  registered?(reg: Registration): void;
  updated?(reg: Registration): void;
  deregistered?(reg: Registration): void;
  expired?(reg: Registration): void;
  awake?(reg: Registration): void;
  sleeping?(reg: Registration): void;
  notification?(event: NotificationEvent): void;
  observationEnded?(info: ObservationInfo, reason: string): void;
}

type RegistrationEvent = 'registered' | 'updated' | 'deregistered' | 'expired' | 'awake' | 'sleeping';
const REGISTRATION_EVENTS: readonly RegistrationEvent[] = ['registered', 'updated', 'deregistered', 'expired', 'awake', 'sleeping'];

export class DeviceEventHub {
  private readonly byEndpoint = new Map<string, Set<DeviceEventHandlers>>();
  private detachAll: (() => void) | null = null;

  constructor(private readonly server: Lwm2mServer) {}

  /** Calls `handlers` for events of `endpoint` until the returned function is called. */
  subscribe(endpoint: string, handlers: DeviceEventHandlers): () => void {
    let set = this.byEndpoint.get(endpoint);
    if (!set) this.byEndpoint.set(endpoint, (set = new Set()));
    set.add(handlers);
    this.attach();
    return () => {
      const current = this.byEndpoint.get(endpoint);
      if (!current?.delete(handlers)) return;
      if (current.size === 0) this.byEndpoint.delete(endpoint);
      if (this.byEndpoint.size === 0) this.detach();
    };
  }

  /** Listeners subscribed now (for tests and monitoring). */
  get size(): number {
    let n = 0;
    for (const set of this.byEndpoint.values()) n += set.size;
    return n;
  }

  private dispatch(endpoint: string, call: (h: DeviceEventHandlers) => void): void {
    const set = this.byEndpoint.get(endpoint);
    if (!set) return;
    for (const h of [...set]) call(h);
  }

  private attach(): void {
    if (this.detachAll) return;
    const offs: Array<() => void> = [];
    for (const event of REGISTRATION_EVENTS) {
      const listener = (reg: Registration): void => this.dispatch(reg.endpoint, (h) => h[event]?.(reg));
      (this.server.on as (e: RegistrationEvent, l: (reg: Registration) => void) => void)(event, listener);
      offs.push(() => (this.server.off as (e: RegistrationEvent, l: (reg: Registration) => void) => void)(event, listener));
    }
    const onNotification = (e: NotificationEvent): void => this.dispatch(e.registration.endpoint, (h) => h.notification?.(e));
    const onEnded = (info: ObservationInfo, reason: string): void => this.dispatch(info.endpoint, (h) => h.observationEnded?.(info, reason));
    this.server.on('notification', onNotification);
    this.server.on('observationEnded', onEnded);
    offs.push(() => this.server.off('notification', onNotification), () => this.server.off('observationEnded', onEnded));
    this.detachAll = () => offs.forEach((off) => off());
  }

  private detach(): void {
    this.detachAll?.();
    this.detachAll = null;
  }
}
