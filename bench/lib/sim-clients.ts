/**
 * Simulated LwM2M clients for the server scenarios: one connected UDP
 * socket per client (each its own source port, so a separate device for
 * the server), raw dgram + coap-packet, and only as much LwM2M as the
 * scenarios need:
 *
 *  - register(): each client registers (POST /rd, link-format body), a
 *    window of them at a time, and keeps its Location-Path;
 *  - always: answers GET /3/0/9 (Battery Level) with a piggybacked 2.05 and
 *    a TLV payload, accepts Observe (Observe=0, answered with a sequence
 *    number) and its cancellation (Observe=1), answers anything else with
 *    4.04 / 4.05 / 4.06 as a device would;
 *  - notify(): observed clients send notifications for a while: bursts of
 *    NON notifications, each burst closed by a CON one, the next burst only
 *    once that CON is acknowledged (so the load follows the server's pace
 *    instead of flooding its socket buffer);
 *  - sends(): Send (POST /dp, SenML CBOR) from registered clients, a
 *    window of them outstanding at a time.
 *
 * A client has at most one confirmable message of its own outstanding
 * (NSTART = 1), retransmitted with doubling timeouts like any CoAP client.
 */
import * as dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { parse, type ParsedPacket } from 'coap-packet';
import { encodeRequest, optionStrings } from './coap-requests.js';
import {
  CODE,
  encodeEmpty,
  encodeMessage,
  encodeTail,
  encodeWithTail,
  FORMAT_SENML_CBOR,
  FORMAT_TLV,
  OPTION,
  senmlCborTemperature,
  tlvIntegerResource,
  TYPE_ACK,
  TYPE_CON,
  TYPE_NON,
  TYPE_RST,
  uintValue,
} from './coap-wire.js';
import { registerRequest } from './registration-load.js';

export interface SimClientsParams {
  readonly host: string;
  readonly port: number;
  readonly clients: number;
  /** Endpoint names are prefix + index (default "sim-"). */
  readonly prefix?: string;
  /** Index of the first client (clients split over processes). */
  readonly firstIndex?: number;
  /** Registration lifetime (s), default one day. */
  readonly lifetime?: number;
  /** First retransmission timeout (ms, default 2000), doubled each time. */
  readonly ackTimeoutMs?: number;
  /** Retransmissions before a message counts as failed (default 4). */
  readonly maxRetransmit?: number;
}

/** What the clients did on their own, whatever the phase. */
export interface SimCounters {
  readsAnswered: number;
  observesAccepted: number;
  observesCancelled: number;
  /** Requests answered with an error code (unknown path, method, format). */
  refused: number;
  malformed: number;
  retransmissions: number;
  timeouts: number;
  resetsReceived: number;
}

export interface PhaseResult {
  /** Successes over the whole phase. */
  readonly ok: number;
  readonly failed: number;
  /** Outcomes seen ("2.01", "2.04", "ACK", "RST", "timeout", ...). */
  readonly codes: Readonly<Record<string, number>>;
  /** Successes inside the measured window (the whole phase when it has no window). */
  readonly windowOk: number;
  readonly windowMs: number;
  /** windowOk per second. */
  readonly rate: number;
  readonly elapsedMs: number;
  /** CPU time of this process over the phase (µs). */
  readonly cpuUs: number;
  /** The clients' retransmissions during the phase. */
  readonly retransmissions: number;
  /** The clients' messages that got no answer at all during the phase. */
  readonly timeouts: number;
}

export interface NotifyResult extends PhaseResult {
  /** Clients that had an observation when the phase began. */
  readonly observed: number;
  readonly nonSent: number;
  readonly conSent: number;
  /** Notifications sent inside the measured window (ok counts CON notifications acknowledged). */
  readonly sentInWindow: number;
}

/** Battery level every read answers with (the server scenarios check it). */
export const READ_VALUE = 95;
/** The one resource the simulated device serves. */
export const READ_PATH = '3/0/9';

type Kind = 'register' | 'send' | 'notify';

interface Pending {
  readonly kind: Kind;
  readonly mid: number;
  readonly token: Buffer;
  readonly datagram: Buffer;
  /** When to retransmit; 0 while waiting for a separate response. */
  nextAt: number;
  timeout: number;
  attempts: number;
  deadline: number;
}

interface Client {
  readonly index: number;
  readonly endpoint: string;
  readonly sock: dgram.Socket;
  mid: number;
  tokenSeq: number;
  location: string[] | null;
  pending: Pending | null;
  obsToken: Buffer | null;
  obsSeq: number;
  /** Send request with message id and token 0, patched per Send. */
  sendTemplate: Buffer | null;
}

/** How a phase learns that a client's confirmable message is done. */
type Completion = (c: Client, kind: Kind, outcome: string, packet: ParsedPacket | null) => void;

const TOKEN_LENGTH = 4;
const TICK_MS = 25;

/** The 2.05 answer to a read, after the token: Content-Format TLV + Battery Level. */
const READ_TAIL = encodeTail([[OPTION.CONTENT_FORMAT, uintValue(FORMAT_TLV)]], tlvIntegerResource(9, READ_VALUE));

function uintOf(value: Buffer): number {
  let n = 0;
  for (const byte of value) n = n * 256 + byte;
  return n;
}

async function openSocket(host: string, port: number): Promise<dgram.Socket> {
  const sock = dgram.createSocket('udp4');
  sock.on('error', () => {}); // losses show up as retransmissions and timeouts
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () =>
      sock.connect(port, host, () => {
        sock.off('error', reject);
        resolve();
      }),
    );
  });
  return sock;
}

export class SimClients {
  readonly counters: SimCounters = {
    readsAnswered: 0,
    observesAccepted: 0,
    observesCancelled: 0,
    refused: 0,
    malformed: 0,
    retransmissions: 0,
    timeouts: 0,
    resetsReceived: 0,
  };
  private readonly clients: Client[];
  private readonly ackTimeoutMs: number;
  private readonly maxRetransmit: number;
  private readonly lifetime: number;
  private readonly ticker: NodeJS.Timeout;
  private completion: Completion = () => {};

  private constructor(params: SimClientsParams, socks: dgram.Socket[]) {
    const prefix = params.prefix ?? 'sim-';
    const first = params.firstIndex ?? 0;
    this.ackTimeoutMs = params.ackTimeoutMs ?? 2000;
    this.maxRetransmit = params.maxRetransmit ?? 4;
    this.lifetime = params.lifetime ?? 86400;
    this.clients = socks.map((sock, i) => ({
      index: first + i,
      endpoint: `${prefix}${first + i}`,
      sock,
      mid: Math.floor(Math.random() * 0x10000),
      tokenSeq: 0,
      location: null,
      pending: null,
      obsToken: null,
      obsSeq: 0,
      sendTemplate: null,
    }));
    for (const c of this.clients) c.sock.on('message', (msg) => this.onMessage(c, msg));
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.ticker.unref();
  }

  /** Opens one connected socket per client (nothing is sent yet). */
  static async open(params: SimClientsParams): Promise<SimClients> {
    if (!(params.clients >= 1)) throw new RangeError('clients must be >= 1');
    const socks: dgram.Socket[] = [];
    try {
      // In batches: a thousand binds at once is fine, but keep it civil.
      for (let i = 0; i < params.clients; i += 100) {
        const batch = Math.min(100, params.clients - i);
        socks.push(...(await Promise.all(Array.from({ length: batch }, () => openSocket(params.host, params.port)))));
      }
    } catch (err) {
      for (const s of socks) s.close();
      throw err;
    }
    return new SimClients(params, socks);
  }

  get size(): number {
    return this.clients.length;
  }

  endpoints(): string[] {
    return this.clients.map((c) => c.endpoint);
  }

  /** Location-Path of each client's registration (null: not registered). */
  locations(): Array<readonly string[] | null> {
    return this.clients.map((c) => c.location);
  }

  /** Clients the server observes right now. */
  get observedCount(): number {
    return this.clients.reduce((n, c) => n + (c.obsToken ? 1 : 0), 0);
  }

  close(): void {
    clearInterval(this.ticker);
    for (const c of this.clients) {
      try {
        c.sock.close();
      } catch {
        // already closed
      }
    }
  }

  // ------------------------------------------------------------ phases

  /** Registers every client, `inFlight` at a time. */
  async register(opts: { inFlight: number; maxDurationMs: number }): Promise<PhaseResult> {
    let next = 0;
    const startNext = (): boolean => {
      if (next >= this.clients.length) return false;
      const c = this.clients[next++]!;
      const spec = registerRequest(c.endpoint, { lifetime: this.lifetime });
      this.startCon(c, 'register', (mid, token) => encodeRequest(spec, mid, token));
      return true;
    };
    return this.runPhase({
      kind: 'register',
      count: this.clients.length,
      isOk: (c, outcome, packet) => {
        if (outcome !== '2.01' || !packet) return false;
        const location = optionStrings(packet, 'Location-Path');
        if (location.length === 0) return false;
        c.location = location;
        return true;
      },
      start: () => {
        for (let i = 0; i < Math.max(1, opts.inFlight); i++) if (!startNext()) break;
      },
      onDone: () => startNext(),
      maxDurationMs: opts.maxDurationMs,
    });
  }

  /**
   * Send (POST /dp, SenML CBOR) from registered clients, `inFlight`
   * outstanding at a time, for warmupMs + durationMs; 2.04 counts.
   */
  async sends(opts: { inFlight: number; warmupMs: number; durationMs: number }): Promise<PhaseResult> {
    const senders = this.clients.filter((c) => c.location !== null);
    if (senders.length === 0) throw new Error('no registered client to send from');
    let cursor = 0;
    let running = true;
    const startNext = (): void => {
      for (let tries = 0; tries < senders.length && running; tries++) {
        const c = senders[cursor]!;
        cursor = (cursor + 1) % senders.length;
        if (c.pending) continue;
        this.startCon(c, 'send', (mid, token) => this.sendDatagram(c, mid, token));
        return;
      }
    };
    return this.runPhase({
      kind: 'send',
      isOk: (_c, outcome) => outcome === '2.04',
      start: () => {
        for (let i = 0; i < Math.max(1, opts.inFlight); i++) startNext();
      },
      onDone: () => startNext(),
      window: { warmupMs: opts.warmupMs, durationMs: opts.durationMs },
      stop: () => {
        running = false;
      },
    });
  }

  /**
   * Observed clients notify for warmupMs + durationMs: `nonPerCon` NON
   * notifications, then one CON, then wait for its ACK; repeat.
   */
  async notify(opts: { nonPerCon: number; warmupMs: number; durationMs: number }): Promise<NotifyResult> {
    const observed = this.clients.filter((c) => c.obsToken !== null);
    let running = true;
    let nonSent = 0;
    let conSent = 0;
    let sentInWindow = 0;
    let inWindow = false;
    const burst = (c: Client): void => {
      if (!running || !c.obsToken || c.pending) return;
      for (let k = 0; k < opts.nonPerCon; k++) {
        c.sock.send(this.notification(c, TYPE_NON, this.nextMid(c)));
        nonSent++;
      }
      this.startCon(c, 'notify', (mid) => this.notification(c, TYPE_CON, mid));
      conSent++;
      if (inWindow) sentInWindow += opts.nonPerCon + 1;
    };
    const result = await this.runPhase({
      kind: 'notify',
      isOk: (_c, outcome) => outcome === 'ACK',
      start: () => {
        for (const c of observed) burst(c);
      },
      onDone: (c) => burst(c),
      window: { warmupMs: opts.warmupMs, durationMs: opts.durationMs },
      onWindow: (open) => {
        inWindow = open;
      },
      stop: () => {
        running = false;
      },
    });
    return { ...result, observed: observed.length, nonSent, conSent, sentInWindow };
  }

  // ------------------------------------------------------------ phase machinery

  private runPhase(p: {
    kind: Kind;
    /** Count-bound phase: ends when this many messages are done. */
    count?: number;
    /** Time-bound phase: ends after warm-up + window. */
    window?: { warmupMs: number; durationMs: number };
    maxDurationMs?: number;
    isOk: (c: Client, outcome: string, packet: ParsedPacket | null) => boolean;
    start: () => void;
    onDone: (c: Client) => void;
    onWindow?: (open: boolean) => void;
    stop?: () => void;
  }): Promise<PhaseResult> {
    const codes: Record<string, number> = {};
    let ok = 0;
    let failed = 0;
    let windowStartOk = -1;
    let windowStart = 0;
    let windowEndOk = -1;
    let windowEnd = 0;
    const cpu0 = process.cpuUsage();
    const retransmissions0 = this.counters.retransmissions;
    const timeouts0 = this.counters.timeouts;
    const t0 = performance.now();
    const timers: NodeJS.Timeout[] = [];
    return new Promise<PhaseResult>((resolve) => {
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        for (const t of timers) clearTimeout(t);
        p.stop?.();
        p.onWindow?.(false);
        // Whatever is still outstanding of this phase is abandoned (late answers are ignored).
        for (const c of this.clients) if (c.pending?.kind === p.kind) c.pending = null;
        this.completion = () => {};
        const end = performance.now();
        if (windowEndOk < 0) {
          windowEndOk = ok;
          windowEnd = end;
        }
        if (windowStartOk < 0) {
          windowStartOk = 0;
          windowStart = t0;
        }
        const windowMs = windowEnd - windowStart;
        const windowOk = windowEndOk - windowStartOk;
        const cpu = process.cpuUsage(cpu0);
        resolve({
          ok,
          failed,
          codes,
          windowOk,
          windowMs,
          rate: windowMs > 0 ? (windowOk * 1000) / windowMs : 0,
          elapsedMs: end - t0,
          cpuUs: cpu.user + cpu.system,
          retransmissions: this.counters.retransmissions - retransmissions0,
          timeouts: this.counters.timeouts - timeouts0,
        });
      };
      this.completion = (c, kind, outcome, packet) => {
        if (kind !== p.kind) return; // a late answer to an earlier phase
        codes[outcome] = (codes[outcome] ?? 0) + 1;
        let success = false;
        try {
          success = p.isOk(c, outcome, packet);
        } catch {
          success = false;
        }
        if (success) ok++;
        else failed++;
        if (p.count !== undefined && ok + failed >= p.count) {
          finish();
          return;
        }
        p.onDone(c);
      };
      if (p.window) {
        const { warmupMs, durationMs } = p.window;
        timers.push(
          setTimeout(() => {
            windowStartOk = ok;
            windowStart = performance.now();
            p.onWindow?.(true);
          }, warmupMs),
          setTimeout(() => {
            windowEndOk = ok;
            windowEnd = performance.now();
            finish();
          }, warmupMs + durationMs),
        );
      }
      if (p.maxDurationMs !== undefined) timers.push(setTimeout(finish, p.maxDurationMs));
      if (p.count === 0) {
        finish();
        return;
      }
      p.start();
    });
  }

  private nextMid(c: Client): number {
    c.mid = (c.mid + 1) & 0xffff;
    return c.mid;
  }

  /** Sends a confirmable message of the client's own and keeps it for retransmission. */
  private startCon(c: Client, kind: Kind, build: (mid: number, token: Buffer) => Buffer): void {
    const mid = this.nextMid(c);
    const token = Buffer.alloc(TOKEN_LENGTH);
    c.tokenSeq = (c.tokenSeq + 1) >>> 0;
    token.writeUInt32BE(c.tokenSeq);
    const datagram = build(mid, token);
    c.pending = { kind, mid, token, datagram, nextAt: Date.now() + this.ackTimeoutMs, timeout: this.ackTimeoutMs, attempts: 0, deadline: 0 };
    c.sock.send(datagram);
  }

  private done(c: Client, outcome: string, packet: ParsedPacket | null): void {
    const kind = c.pending?.kind;
    c.pending = null;
    if (kind) this.completion(c, kind, outcome, packet);
  }

  private sendDatagram(c: Client, mid: number, token: Buffer): Buffer {
    if (!c.sendTemplate) {
      const payload = senmlCborTemperature(20 + (c.index % 10) / 2);
      c.sendTemplate = encodeRequest({ method: 'POST', path: ['dp'], contentFormat: FORMAT_SENML_CBOR, payload }, 0, Buffer.alloc(TOKEN_LENGTH));
    }
    const buf = Buffer.from(c.sendTemplate);
    buf[2] = mid >> 8;
    buf[3] = mid & 0xff;
    token.copy(buf, 4);
    return buf;
  }

  /** A notification of the client's observation, with the next sequence number. */
  private notification(c: Client, type: number, mid: number): Buffer {
    c.obsSeq = (c.obsSeq + 1) & 0xffffff;
    const tail = encodeTail(
      [
        [OPTION.OBSERVE, uintValue(c.obsSeq)],
        [OPTION.CONTENT_FORMAT, uintValue(FORMAT_TLV)],
      ],
      tlvIntegerResource(9, c.obsSeq % 101),
    );
    return encodeWithTail(type, CODE.CONTENT, mid, c.obsToken!, tail);
  }

  private tick(): void {
    const now = Date.now();
    for (const c of this.clients) {
      const p = c.pending;
      if (!p) continue;
      if (p.nextAt === 0) {
        if (now >= p.deadline) {
          this.counters.timeouts++;
          this.done(c, 'timeout', null);
        }
      } else if (now >= p.nextAt) {
        if (p.attempts >= this.maxRetransmit) {
          this.counters.timeouts++;
          this.done(c, 'timeout', null);
        } else {
          p.attempts++;
          p.timeout *= 2;
          p.nextAt = now + p.timeout;
          this.counters.retransmissions++;
          c.sock.send(p.datagram);
        }
      }
    }
  }

  // ------------------------------------------------------------ incoming

  private onMessage(c: Client, msg: Buffer): void {
    let p: ParsedPacket;
    try {
      p = parse(msg);
    } catch {
      this.counters.malformed++;
      return;
    }
    if (p.code === '0.00') {
      if (p.confirmable) c.sock.send(encodeEmpty(TYPE_RST, p.messageId)); // CoAP ping
      else if (p.ack || p.reset) this.onEmpty(c, p);
      return;
    }
    if (p.code.startsWith('0.')) this.onRequest(c, p);
    else this.onResponse(c, p);
  }

  /** An empty ACK or RST for the client's outstanding confirmable message. */
  private onEmpty(c: Client, p: ParsedPacket): void {
    const pend = c.pending;
    if (!pend || pend.mid !== p.messageId) return;
    if (p.reset) {
      this.counters.resetsReceived++;
      if (pend.kind === 'notify') c.obsToken = null; // the server forgot the observation
      this.done(c, 'RST', null);
    } else if (pend.kind === 'notify') {
      this.done(c, 'ACK', null);
    } else {
      // A request acknowledged: its response comes separately.
      pend.nextAt = 0;
      pend.deadline = Date.now() + 10 * this.ackTimeoutMs;
    }
  }

  private onResponse(c: Client, p: ParsedPacket): void {
    if (p.confirmable) c.sock.send(encodeEmpty(TYPE_ACK, p.messageId));
    const pend = c.pending;
    if (!pend || !p.token.equals(pend.token)) return;
    if (p.ack && p.messageId !== pend.mid) return;
    this.done(c, p.code, p);
  }

  private onRequest(c: Client, p: ParsedPacket): void {
    // A CON request gets a piggybacked ACK; a NON one a NON answer.
    const type = p.confirmable ? TYPE_ACK : TYPE_NON;
    const mid = p.confirmable ? p.messageId : this.nextMid(c);
    const refuse = (code: number): void => {
      this.counters.refused++;
      c.sock.send(encodeMessage(type, code, mid, p.token));
    };
    if (p.code !== '0.01') return refuse(CODE.METHOD_NOT_ALLOWED);
    let path = '';
    let observe: number | undefined;
    let accept: number | undefined;
    for (const o of p.options) {
      if (o.name === 'Uri-Path') path = path === '' ? o.value.toString() : `${path}/${o.value.toString()}`;
      else if (o.name === 'Observe') observe = uintOf(o.value);
      else if (o.name === 'Accept') accept = uintOf(o.value);
    }
    if (path !== READ_PATH) return refuse(CODE.NOT_FOUND);
    if (accept !== undefined && accept !== FORMAT_TLV) return refuse(CODE.NOT_ACCEPTABLE);
    if (observe === 0) {
      if (!c.obsToken || !c.obsToken.equals(p.token)) this.counters.observesAccepted++;
      c.obsToken = Buffer.from(p.token);
      c.obsSeq = (c.obsSeq + 1) & 0xffffff;
      const tail = encodeTail(
        [
          [OPTION.OBSERVE, uintValue(c.obsSeq)],
          [OPTION.CONTENT_FORMAT, uintValue(FORMAT_TLV)],
        ],
        tlvIntegerResource(9, READ_VALUE),
      );
      c.sock.send(encodeWithTail(type, CODE.CONTENT, mid, p.token, tail));
      return;
    }
    if (observe === 1 && c.obsToken?.equals(p.token)) {
      c.obsToken = null;
      this.counters.observesCancelled++;
    }
    this.counters.readsAnswered++;
    c.sock.send(encodeWithTail(type, CODE.CONTENT, mid, p.token, READ_TAIL));
  }
}
