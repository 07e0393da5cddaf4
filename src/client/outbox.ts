/**
 * Notifications kept while the device sleeps (queue mode) or is offline,
 * when the server account asks for it (/1/x/6 Notification Storing). They
 * leave in their order, each with the value it had, after the next
 * successful Update or Register to that server. At most `max` per
 * observation are kept (the hqmax attribute lowers it); the oldest go first.
 */
import type { OutgoingNotification } from '../coap/api.js';
import type { Observation } from './observations.js';

interface Stored {
  readonly observation: Observation;
  readonly notification: OutgoingNotification;
}

export class NotificationOutbox {
  private readonly byServer = new Map<number, Stored[]>();

  constructor(private readonly defaultMax: number) {}

  /** The bound for one observation: hqmax when set (and lower), else the default. */
  private maxFor(observation: Observation): number {
    const hqmax = observation.scheduler.attributes.hqmax;
    return hqmax !== undefined && hqmax > 0 ? Math.min(hqmax, this.defaultMax) : this.defaultMax;
  }

  store(observation: Observation, notification: OutgoingNotification): void {
    const ssid = observation.shortServerId;
    let list = this.byServer.get(ssid);
    if (!list) this.byServer.set(ssid, (list = []));
    list.push({ observation, notification });
    const mine = list.filter((s) => s.observation === observation);
    if (mine.length > this.maxFor(observation)) list.splice(list.indexOf(mine[0] as Stored), 1);
  }

  count(shortServerId: number): number {
    return this.byServer.get(shortServerId)?.length ?? 0;
  }

  /** Removes and returns what is stored for a server, oldest first (ended observations left out). */
  take(shortServerId: number): Stored[] {
    const list = this.byServer.get(shortServerId) ?? [];
    this.byServer.delete(shortServerId);
    return list.filter((s) => s.observation.handle.active);
  }

  drop(shortServerId: number): void {
    this.byServer.delete(shortServerId);
  }

  clear(): void {
    this.byServer.clear();
  }
}
