/**
 * Request/response load on raw dgram sockets: `sockets` connected UDP
 * sockets, each keeping `inFlight` CoAP GET requests outstanding; every
 * answer sends the next request at once. Built to be cheap so that the
 * load side is not what is measured: the request is generated once with
 * coap-packet and only its message id and token bytes are rewritten, and
 * answers are matched by reading header bytes, not by a full parse.
 *
 * Token (4 bytes) = slot number (uint16) + sequence number (uint16): an
 * answer that does not carry the slot's current sequence number is stale
 * (a late answer to a request already given up on) and is ignored.
 */
import * as dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { generate } from 'coap-packet';

export interface RoundTripLoadParams {
  readonly host: string;
  readonly port: number;
  readonly sockets: number;
  /** Requests outstanding per socket. */
  readonly inFlight: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /**
   * 'echo': the server sends the request back (raw dgram baseline);
   * 'coap': a piggybacked ACK with code 2.05 is expected.
   */
  readonly expect: 'echo' | 'coap';
  /** A request unanswered for this long is counted lost and replaced. */
  readonly timeoutMs?: number;
  /**
   * Message ids one socket may use before it is replaced by a fresh one (a
   * new source port, so a new peer for the server): a CoAP server keeps a
   * duplicate cache for EXCHANGE_LIFETIME (247 s), so a client must never
   * wrap around its 16-bit message id, or the answers would come from that
   * cache. Answers to requests sent on the old socket are still taken.
   */
  readonly maxMessagesPerSocket?: number;
  /** Sockets start sending spread over this time, not in one burst. */
  readonly rampMs?: number;
}

export interface RoundTripLoadResult {
  /** Answers inside the measured window. */
  readonly responses: number;
  readonly windowMs: number;
  /** responses / window, per second. */
  readonly rate: number;
  /** Answers over the whole run (warm-up included). */
  readonly totalResponses: number;
  readonly lost: number;
  /** Answers with an unexpected code or shape. */
  readonly bad: number;
  /** Sockets replaced because they used up their message ids. */
  readonly rotations: number;
  /** True when a socket ran out of message ids before its replacement was ready. */
  readonly cutShort: boolean;
  /** CPU time of this process over the run (µs). */
  readonly cpuUs: number;
  readonly wallMs: number;
}

const TOKEN_LENGTH = 4;
const TYPE_ACK = 2;
const CODE_205 = 0x45;
const CODE_GET = 0x01;

/** The GET request every slot sends (message id and token patched per send). */
export function requestTemplate(): Buffer {
  return generate({
    confirmable: true,
    code: 'GET',
    messageId: 0,
    token: Buffer.alloc(TOKEN_LENGTH),
    options: [{ name: 'Uri-Path', value: Buffer.from('bench') }],
  });
}

export class RoundTripLoad {
  private readonly params: Required<RoundTripLoadParams>;
  private readonly host: string;
  private readonly port: number;
  /** The socket each logical client sends on now. */
  private readonly socks: dgram.Socket[];
  /** Its replacement, opened ahead of time when the message ids run low. */
  private readonly spares: Array<dgram.Socket | null>;
  private readonly spareOpening: boolean[];
  /** Every socket ever opened (old ones keep receiving late answers), closed at the end. */
  private readonly allSocks: dgram.Socket[];
  private rotations = 0;
  /** Per slot (socket * inFlight + j): its request buffer, sequence number, send time. */
  private readonly buffers: Buffer[] = [];
  private readonly seq: Uint16Array;
  private readonly sentAt: Float64Array;
  private readonly mids: Uint16Array;
  private readonly used: Uint32Array;
  private responses = 0;
  private lost = 0;
  private bad = 0;
  private running = false;
  private cutShort = false;
  private coarseNow = 0;
  private windowStart = -1;
  private windowStartCount = 0;
  private windowEnd = -1;
  private windowEndCount = 0;
  private finish: (() => void) | null = null;

  private constructor(params: Required<RoundTripLoadParams>, socks: dgram.Socket[]) {
    this.params = params;
    this.host = params.host;
    this.port = params.port;
    this.socks = socks;
    this.allSocks = [...socks];
    this.spares = socks.map(() => null);
    this.spareOpening = socks.map(() => false);
    const slots = params.sockets * params.inFlight;
    this.seq = new Uint16Array(slots);
    this.sentAt = new Float64Array(slots);
    this.mids = new Uint16Array(params.sockets);
    this.used = new Uint32Array(params.sockets);
    const template = requestTemplate();
    for (let s = 0; s < params.sockets; s++) {
      this.mids[s] = Math.floor(Math.random() * 0x10000);
      for (let j = 0; j < params.inFlight; j++) this.buffers.push(Buffer.from(template));
      socks[s]!.on('message', (msg) => this.onMessage(s, msg));
    }
  }

  private static async openSocket(host: string, port: number): Promise<dgram.Socket> {
    const sock = dgram.createSocket('udp4');
    sock.on('error', () => {}); // ICMP port unreachable etc.: the timeout counts the loss
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(0, '127.0.0.1', () =>
          sock.connect(port, host, () => {
            sock.off('error', reject);
            resolve();
          }),
        );
      });
    } catch (err) {
      sock.close();
      throw err;
    }
    return sock;
  }

  /** Opens the replacement of logical client s in the background. */
  private prepareSpare(s: number): void {
    this.spareOpening[s] = true;
    RoundTripLoad.openSocket(this.host, this.port).then(
      (sock) => {
        sock.on('message', (msg) => this.onMessage(s, msg));
        this.allSocks.push(sock);
        this.spares[s] = sock;
      },
      () => {
        this.spareOpening[s] = false; // tried again on the next send
      },
    );
  }

  /** Binds and connects the sockets (nothing is sent until run()). */
  static async open(p: RoundTripLoadParams): Promise<RoundTripLoad> {
    if (p.inFlight < 1 || p.inFlight > 0xffff) throw new RangeError('inFlight must be 1..65535');
    const params: Required<RoundTripLoadParams> = {
      timeoutMs: 1000,
      maxMessagesPerSocket: 60_000,
      rampMs: Math.min(100, p.warmupMs / 2),
      ...p,
    };
    const socks: dgram.Socket[] = [];
    try {
      for (let s = 0; s < params.sockets; s++) socks.push(await RoundTripLoad.openSocket(params.host, params.port));
    } catch (err) {
      for (const sock of socks) sock.close();
      throw err;
    }
    return new RoundTripLoad(params, socks);
  }

  private send(s: number, j: number): void {
    const g = s * this.params.inFlight + j;
    const budget = this.params.maxMessagesPerSocket;
    if (this.used[s]! >= budget) {
      const spare = this.spares[s];
      if (!spare) {
        this.endWindow(true);
        return;
      }
      this.socks[s] = spare;
      this.spares[s] = null;
      this.spareOpening[s] = false;
      this.used[s] = 0;
      this.mids[s] = Math.floor(Math.random() * 0x10000);
      this.rotations++;
    } else if (this.used[s]! >= budget * 0.75 && !this.spareOpening[s]) {
      this.prepareSpare(s);
    }
    this.used[s]!++;
    const mid = (this.mids[s] = (this.mids[s]! + 1) & 0xffff);
    const seq = (this.seq[g] = (this.seq[g]! + 1) & 0xffff);
    const buf = this.buffers[g]!;
    buf[2] = mid >> 8;
    buf[3] = mid & 0xff;
    buf[4] = j >> 8;
    buf[5] = j & 0xff;
    buf[6] = seq >> 8;
    buf[7] = seq & 0xff;
    this.sentAt[g] = this.coarseNow;
    this.socks[s]!.send(buf);
  }

  private onMessage(s: number, msg: Buffer): void {
    if (msg.length < 4 + TOKEN_LENGTH || (msg[0]! & 0x0f) !== TOKEN_LENGTH) {
      // An empty ACK (separate response coming) has no token: not an answer yet.
      if (!(msg.length === 4 && msg[1] === 0)) this.bad++;
      return;
    }
    const j = (msg[4]! << 8) | msg[5]!;
    if (j >= this.params.inFlight) {
      this.bad++;
      return;
    }
    const g = s * this.params.inFlight + j;
    if (((msg[6]! << 8) | msg[7]!) !== this.seq[g]) return; // stale
    const ok =
      this.params.expect === 'echo'
        ? msg[1] === CODE_GET
        : msg[1] === CODE_205 && ((msg[0]! >> 4) & 3) === TYPE_ACK;
    if (ok) this.responses++;
    else this.bad++;
    if (this.running) this.send(s, j);
  }

  private endWindow(cut: boolean): void {
    if (this.windowEnd >= 0) return;
    this.running = false;
    if (this.windowStart < 0) {
      // Cut during warm-up: no window at all.
      this.windowStart = performance.now();
      this.windowStartCount = this.responses;
    }
    this.cutShort = cut;
    this.windowEnd = performance.now();
    this.windowEndCount = this.responses;
    this.finish?.();
  }

  /** Runs warm-up then the measured window; resolves when the window ends. */
  async run(): Promise<RoundTripLoadResult> {
    const p = this.params;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    this.coarseNow = t0;
    this.running = true;
    const timers: NodeJS.Timeout[] = [];
    // Start the sockets in batches spread over rampMs.
    const batches = Math.max(1, Math.min(p.sockets, 10));
    const perBatch = Math.ceil(p.sockets / batches);
    for (let b = 0; b < batches; b++) {
      timers.push(
        setTimeout(() => {
          for (let s = b * perBatch; s < Math.min(p.sockets, (b + 1) * perBatch) && this.running; s++) {
            for (let j = 0; j < p.inFlight; j++) this.send(s, j);
          }
        }, (p.rampMs * b) / batches),
      );
    }
    // Lost requests: replaced after timeoutMs so the window stays full.
    const ticker = setInterval(() => {
      this.coarseNow = performance.now();
      if (!this.running) return;
      const limit = this.coarseNow - p.timeoutMs;
      for (let g = 0; g < this.sentAt.length; g++) {
        if (this.sentAt[g]! !== 0 && this.sentAt[g]! < limit) {
          this.lost++;
          this.send(Math.floor(g / p.inFlight), g % p.inFlight);
        }
      }
    }, 50);
    timers.push(
      setTimeout(() => {
        if (this.windowEnd >= 0) return;
        this.windowStart = performance.now();
        this.windowStartCount = this.responses;
      }, p.warmupMs),
    );
    const done = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    timers.push(setTimeout(() => this.endWindow(false), p.warmupMs + p.durationMs));
    await done;
    for (const t of timers) clearTimeout(t);
    clearInterval(ticker);
    const cpu = process.cpuUsage(cpu0);
    const windowMs = this.windowEnd - this.windowStart;
    const responses = this.windowEndCount - this.windowStartCount;
    return {
      responses,
      windowMs,
      rate: windowMs > 0 ? (responses * 1000) / windowMs : 0,
      totalResponses: this.windowEndCount,
      lost: this.lost,
      bad: this.bad,
      rotations: this.rotations,
      cutShort: this.cutShort,
      cpuUs: cpu.user + cpu.system,
      wallMs: this.windowEnd - t0,
    };
  }

  close(): void {
    for (const sock of this.allSocks) {
      try {
        sock.close();
      } catch {
        // already closed
      }
    }
  }
}
