/**
 * Queue mode (LwM2M Transport TS §6.5): a client registered with Q sleeps
 * most of the time and is reachable only for a while after it talks to us
 * (Register, Update, Send, a notification). Requests made while it sleeps
 * wait here, in order, each with its own expiry, and go out when it wakes.
 */
import { CoapCode, Lwm2mError } from '../errors.js';

export interface QueueModeOptions {
  /** How long a client stays reachable after it last talked to us (ms). Default 93 s (CoAP MAX_TRANSMIT_WAIT). */
  awakeTimeMs?: number;
  /** Most requests waiting per client. Default 64. */
  maxQueuedPerClient?: number;
  /** How long a request may wait for the client to wake up (ms), unless the call says otherwise. Default 10 min. */
  queuedRequestTimeoutMs?: number;
}

interface Waiter {
  readonly run: () => void;
  readonly fail: (err: Error) => void;
  readonly expiresAt: number;
  done: boolean;
}

interface ClientQueue {
  awakeUntil: number;
  waiters: Waiter[];
  /** Requests currently in flight to this client. */
  inFlight: number;
}

export interface QueueEvents {
  awake(registrationId: string): void;
  sleeping(registrationId: string): void;
}

export class QueueModeScheduler {
  readonly awakeTimeMs: number;
  private readonly maxQueued: number;
  private readonly defaultTimeoutMs: number;
  private readonly clients = new Map<string, ClientQueue>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    options: QueueModeOptions,
    private readonly events: QueueEvents,
    private readonly now: () => number = Date.now,
    tickMs = 250,
  ) {
    this.awakeTimeMs = options.awakeTimeMs ?? 93_000;
    this.maxQueued = options.maxQueuedPerClient ?? 64;
    this.defaultTimeoutMs = options.queuedRequestTimeoutMs ?? 600_000;
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  /** The client talked to us: it is awake now; queued requests go out in order. */
  wake(registrationId: string): void {
    const q = this.queue(registrationId);
    const wasAwake = q.awakeUntil > this.now();
    q.awakeUntil = this.now() + this.awakeTimeMs;
    if (!wasAwake) this.events.awake(registrationId);
    this.drain(q);
  }

  /** A request to the client timed out: treat it as asleep until it talks again. */
  fellAsleep(registrationId: string): void {
    const q = this.clients.get(registrationId);
    if (!q || q.awakeUntil <= this.now()) return;
    q.awakeUntil = 0;
    this.events.sleeping(registrationId);
  }

  isAwake(registrationId: string): boolean {
    return (this.clients.get(registrationId)?.awakeUntil ?? 0) > this.now();
  }

  queuedCount(registrationId: string): number {
    return this.clients.get(registrationId)?.waiters.filter((w) => !w.done).length ?? 0;
  }

  /**
   * Runs `send` now when the client is awake, otherwise when it wakes up.
   * Rejects with 5.03 when the queue is full and with 5.04 when the client
   * does not wake up in time.
   */
  schedule<T>(registrationId: string, send: () => Promise<T>, timeoutMs?: number): Promise<T> {
    const q = this.queue(registrationId);
    if (q.awakeUntil > this.now() && q.waiters.length === 0) return this.track(q, send);
    if (q.waiters.length >= this.maxQueued) {
      return Promise.reject(new Lwm2mError(CoapCode.ServiceUnavailable, `the client is sleeping and already has ${this.maxQueued} requests waiting`));
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        expiresAt: this.now() + (timeoutMs ?? this.defaultTimeoutMs),
        done: false,
        run: () => {
          this.track(q, send).then(resolve, reject);
        },
        fail: reject,
      };
      q.waiters.push(waiter);
    });
  }

  /** The registration ended: its waiting requests fail. */
  forget(registrationId: string, reason: string): void {
    const q = this.clients.get(registrationId);
    if (!q) return;
    this.clients.delete(registrationId);
    for (const w of q.waiters) {
      if (w.done) continue;
      w.done = true;
      w.fail(new Lwm2mError(CoapCode.NotFound, `request dropped: ${reason}`));
    }
  }

  close(): void {
    clearInterval(this.timer);
    for (const id of [...this.clients.keys()]) this.forget(id, 'the server stopped');
  }

  private queue(registrationId: string): ClientQueue {
    let q = this.clients.get(registrationId);
    if (!q) this.clients.set(registrationId, (q = { awakeUntil: 0, waiters: [], inFlight: 0 }));
    return q;
  }

  private track<T>(q: ClientQueue, send: () => Promise<T>): Promise<T> {
    q.inFlight++;
    const settle = () => {
      q.inFlight--;
    };
    const p = send();
    p.then(settle, settle);
    return p;
  }

  private drain(q: ClientQueue): void {
    while (q.waiters.length > 0 && q.awakeUntil > this.now()) {
      const w = q.waiters.shift() as Waiter;
      if (w.done) continue;
      w.done = true;
      w.run();
    }
  }

  private tick(): void {
    const now = this.now();
    for (const [id, q] of this.clients) {
      for (const w of q.waiters) {
        if (!w.done && w.expiresAt <= now) {
          w.done = true;
          w.fail(new Lwm2mError(CoapCode.GatewayTimeout, 'the client did not wake up before the request expired'));
        }
      }
      if (q.waiters.some((w) => w.done)) q.waiters = q.waiters.filter((w) => !w.done);
      if (q.awakeUntil !== 0 && q.awakeUntil <= now && q.inFlight === 0) {
        q.awakeUntil = 0;
        this.events.sleeping(id);
      }
    }
  }
}
