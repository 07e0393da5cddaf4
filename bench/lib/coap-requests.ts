/**
 * A windowed CoAP client on raw dgram + coap-packet: sends `count`
 * confirmable requests (request i built by `build(i)`), keeping `inFlight`
 * of them outstanding over `sockets` UDP sockets, and hands every final
 * response to `onResponse`. Enough CoAP to be a fair client and no more:
 * retransmission with doubling timeouts (RFC 7252 4.2), separate responses
 * (an empty ACK, then a CON response that we acknowledge), a deadline for
 * the whole run. Used by the registration load generator and, later, by
 * the other server scenarios (De-register, Update...).
 *
 * Each request gets a 4-byte token holding its index i, so responses are
 * matched without any table lookup by message id.
 */
import * as dgram from 'node:dgram';
import { generate, parse, type NamedOption, type Option, type ParsedPacket } from 'coap-packet';

export interface CoapRequestSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Uri-Path segments, each its own option. */
  readonly path: readonly string[];
  /** Uri-Query values ("ep=dev1"). */
  readonly query?: readonly string[];
  readonly contentFormat?: number;
  readonly payload?: Buffer;
}

export interface WindowedRequestParams {
  readonly host: string;
  readonly port: number;
  readonly count: number;
  /** Requests outstanding at once. */
  readonly inFlight: number;
  /** UDP sockets the requests are spread over (default: one per slot). */
  readonly sockets?: number;
  /** First retransmission timeout (ms, default 2000), doubled each time. */
  readonly ackTimeoutMs?: number;
  /** Retransmissions before a request counts as failed (default 4). */
  readonly maxRetransmit?: number;
  /** Hard deadline of the whole run (ms): what is still open then counts as failed. */
  readonly maxDurationMs: number;
}

export interface WindowedRequestResult {
  /** Requests whose response `onResponse` accepted. */
  readonly succeeded: number;
  /** Requests with a refused response, no response, or still open at the deadline. */
  readonly failed: number;
  readonly retransmissions: number;
  /** Response codes seen, e.g. { "2.01": 9998, "4.00": 2 }. */
  readonly codes: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
  /** Successful requests per second. */
  readonly rate: number;
  readonly timedOut: boolean;
}

const TOKEN_LENGTH = 4;

/** Builds the datagram of a request with the given message id and token. */
export function encodeRequest(spec: CoapRequestSpec, messageId: number, token: Buffer): Buffer {
  const options: Array<NamedOption | Option> = spec.path.map((p) => ({ name: 'Uri-Path' as const, value: Buffer.from(p) }));
  if (spec.contentFormat !== undefined) options.push({ name: 'Content-Format', value: uint(spec.contentFormat) });
  for (const q of spec.query ?? []) options.push({ name: 'Uri-Query', value: Buffer.from(q) });
  return generate({
    confirmable: true,
    code: spec.method,
    messageId,
    token,
    options,
    ...(spec.payload ? { payload: spec.payload } : {}),
  });
}

/** Minimal big-endian unsigned encoding of a CoAP uint option. */
function uint(n: number): Buffer {
  if (n === 0) return Buffer.alloc(0);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from(bytes);
}

/** The string values of every option with that name, in order. */
export function optionStrings(packet: ParsedPacket, name: string): string[] {
  return packet.options.filter((o) => o.name === name).map((o) => o.value.toString('utf8'));
}

interface Slot {
  index: number;
  socket: number;
  mid: number;
  datagram: Buffer;
  /** When to retransmit (0: waiting for a separate response, no retransmission). */
  nextAt: number;
  timeout: number;
  attempts: number;
  deadline: number;
}

async function openSocket(host: string, port: number, onMessage: (msg: Buffer) => void): Promise<dgram.Socket> {
  const sock = dgram.createSocket('udp4');
  sock.on('error', () => {}); // losses show up as retransmissions and failures
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () =>
      sock.connect(port, host, () => {
        sock.off('error', reject);
        resolve();
      }),
    );
  });
  sock.on('message', onMessage);
  return sock;
}

/**
 * Runs the requests. `onResponse(i, packet)` gets each final response and
 * returns true when it counts as a success.
 */
export async function runWindowedRequests(
  p: WindowedRequestParams,
  build: (i: number) => CoapRequestSpec,
  onResponse: (i: number, packet: ParsedPacket) => boolean,
): Promise<WindowedRequestResult> {
  if (!(p.inFlight >= 1) || !(p.count >= 0)) throw new RangeError('inFlight must be >= 1 and count >= 0');
  const ackTimeoutMs = p.ackTimeoutMs ?? 2000;
  const maxRetransmit = p.maxRetransmit ?? 4;
  const inFlight = Math.min(p.inFlight, Math.max(1, p.count));
  const nSockets = Math.max(1, Math.min(p.sockets ?? inFlight, inFlight));
  const socks: dgram.Socket[] = [];
  const mids: number[] = [];
  const slots: Array<Slot | null> = new Array<Slot | null>(inFlight).fill(null);
  const byIndex = new Map<number, number>(); // request index → slot number
  const codes: Record<string, number> = {};
  let next = 0;
  let succeeded = 0;
  let failed = 0;
  let retransmissions = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const complete = (slotNo: number, ok: boolean): void => {
    const slot = slots[slotNo]!;
    byIndex.delete(slot.index);
    slots[slotNo] = null;
    if (ok) succeeded++;
    else failed++;
    start(slotNo);
  };

  const start = (slotNo: number): void => {
    if (next >= p.count) {
      if (succeeded + failed === p.count) finish();
      return;
    }
    const index = next++;
    const socket = slotNo % nSockets;
    const mid = (mids[socket] = (mids[socket]! + 1) & 0xffff);
    const token = Buffer.alloc(TOKEN_LENGTH);
    token.writeUInt32BE(index >>> 0);
    let datagram: Buffer;
    try {
      datagram = encodeRequest(build(index), mid, token);
    } catch {
      codes['build error'] = (codes['build error'] ?? 0) + 1;
      failed++;
      start(slotNo);
      return;
    }
    const now = Date.now();
    slots[slotNo] = { index, socket, mid, datagram, nextAt: now + ackTimeoutMs, timeout: ackTimeoutMs, attempts: 0, deadline: 0 };
    byIndex.set(index, slotNo);
    socks[socket]!.send(datagram);
  };

  const onMessage = (socketNo: number, msg: Buffer): void => {
    let packet: ParsedPacket;
    try {
      packet = parse(msg);
    } catch {
      codes['unparsable'] = (codes['unparsable'] ?? 0) + 1;
      return;
    }
    // A CON response is acknowledged whether or not we still wait for it (it may be a retransmission).
    if (packet.confirmable && packet.code !== '0.00') {
      socks[socketNo]!.send(generate({ ack: true, code: '0.00', messageId: packet.messageId, token: Buffer.alloc(0) }));
    }
    if (packet.code === '0.00') {
      if (packet.ack) {
        // Empty ACK: the response comes separately; stop retransmitting, wait up to the exchange deadline.
        for (let s = 0; s < slots.length; s++) {
          const slot = slots[s];
          if (slot && slot.socket === socketNo && slot.mid === packet.messageId && slot.nextAt !== 0) {
            slot.nextAt = 0;
            slot.deadline = Date.now() + 10 * ackTimeoutMs;
          }
        }
      } else if (packet.reset) {
        for (let s = 0; s < slots.length; s++) {
          const slot = slots[s];
          if (slot && slot.socket === socketNo && slot.mid === packet.messageId) {
            codes['RST'] = (codes['RST'] ?? 0) + 1;
            complete(s, false);
          }
        }
      }
      return;
    }
    if (packet.token.length !== TOKEN_LENGTH) return;
    const slotNo = byIndex.get(packet.token.readUInt32BE(0));
    if (slotNo === undefined) return; // late duplicate
    codes[packet.code] = (codes[packet.code] ?? 0) + 1;
    let ok = false;
    try {
      ok = onResponse(slots[slotNo]!.index, packet);
    } catch {
      ok = false;
    }
    complete(slotNo, ok);
  };

  try {
    for (let s = 0; s < nSockets; s++) {
      mids.push(Math.floor(Math.random() * 0x10000));
      socks.push(await openSocket(p.host, p.port, (msg) => onMessage(s, msg)));
    }
    const t0 = Date.now();
    const ticker = setInterval(() => {
      const now = Date.now();
      for (let s = 0; s < slots.length; s++) {
        const slot = slots[s];
        if (!slot) continue;
        if (slot.nextAt === 0) {
          if (now >= slot.deadline) {
            codes['timeout'] = (codes['timeout'] ?? 0) + 1;
            complete(s, false);
          }
        } else if (now >= slot.nextAt) {
          if (slot.attempts >= maxRetransmit) {
            codes['timeout'] = (codes['timeout'] ?? 0) + 1;
            complete(s, false);
          } else {
            slot.attempts++;
            slot.timeout *= 2;
            slot.nextAt = now + slot.timeout;
            retransmissions++;
            socks[slot.socket]!.send(slot.datagram);
          }
        }
      }
    }, 20);
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      finish();
    }, p.maxDurationMs);
    if (p.count === 0) finish();
    for (let s = 0; s < inFlight; s++) start(s);
    await finished;
    const elapsedMs = Date.now() - t0;
    clearInterval(ticker);
    clearTimeout(deadline);
    if (timedOut) failed = p.count - succeeded;
    return { succeeded, failed, retransmissions, codes, elapsedMs, rate: elapsedMs > 0 ? (succeeded * 1000) / elapsedMs : 0, timedOut };
  } finally {
    // Let the last sends (ACKs of separate responses) leave before the sockets close.
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const sock of socks) sock.close();
  }
}
