/**
 * Test plumbing for the DTLS layer: servers and clients on loopback with
 * fast retransmission, a UDP relay that can drop, copy or alter datagrams,
 * hand-built ClientHellos, and external tools (OpenSSL, libcoap).
 */
import { spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DtlsServerTransport, type DtlsServerOptions } from '../../src/dtls/server-transport.js';
import { DtlsClientTransport, type DtlsClientOptions } from '../../src/dtls/client-transport.js';
import { ContentType, DTLS_1_2, EMPTY_RENEGOTIATION_INFO_SCSV, HandshakeType } from '../../src/dtls/constants.js';
import { encodeHandshake } from '../../src/dtls/handshake.js';
import { encodeClientHello, type ClientHello } from '../../src/dtls/messages.js';
import { encodeRecord } from '../../src/dtls/record.js';

export const IDENTITY = 'device-1';
export const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
export const KEYS: Record<string, Buffer> = { [IDENTITY]: KEY, 'device-2': Buffer.from('secret-of-device-2') };

/** Retransmission in tens of milliseconds, handshakes that give up in seconds. */
export const FAST_TIMERS = { retransmitInitialMs: 40, retransmitMaxMs: 400, handshakeTimeoutMs: 3000 } as const;

export function startServer(options: Partial<DtlsServerOptions> = {}): Promise<DtlsServerTransport> {
  return DtlsServerTransport.listen({ address: '127.0.0.1', port: 0, psk: (id) => KEYS[id], ...FAST_TIMERS, ...options });
}

export function connectClient(port: number, options: Partial<DtlsClientOptions> = {}): Promise<DtlsClientTransport> {
  return DtlsClientTransport.connect({ host: '127.0.0.1', port, identity: IDENTITY, psk: KEY, ...FAST_TIMERS, ...options });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `predicate` holds (or fails after `timeoutMs`). */
export async function waitFor(predicate: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

export type Direction = 'up' | 'down';
/** Returns the datagram to forward (possibly changed), or null to drop it. */
export type RelayFilter = (datagram: Buffer, direction: Direction, index: number) => Buffer | null;

/**
 * A UDP relay: the client talks to the relay's port, the relay talks to the
 * server from one socket of its own (so the server sees one stable address).
 * `up` is client → server, `down` server → client.
 */
export class Relay {
  readonly seen: { up: Buffer[]; down: Buffer[] } = { up: [], down: [] };
  filter: RelayFilter = (d) => d;
  private clientAddress: dgram.RemoteInfo | null = null;

  private constructor(
    private readonly front: dgram.Socket,
    private readonly back: dgram.Socket,
    private readonly serverPort: number,
  ) {
    front.on('message', (msg, rinfo) => {
      this.clientAddress = rinfo;
      const index = this.seen.up.push(Buffer.from(msg)) - 1;
      const out = this.filter(msg, 'up', index);
      if (out) back.send(out, serverPort, '127.0.0.1');
    });
    back.on('message', (msg) => {
      const index = this.seen.down.push(Buffer.from(msg)) - 1;
      const out = this.filter(msg, 'down', index);
      if (out && this.clientAddress) front.send(out, this.clientAddress.port, this.clientAddress.address);
    });
  }

  static async start(serverPort: number): Promise<Relay> {
    const front = dgram.createSocket('udp4');
    const back = dgram.createSocket('udp4');
    front.bind(0, '127.0.0.1');
    back.bind(0, '127.0.0.1');
    await Promise.all([once(front, 'listening'), once(back, 'listening')]);
    return new Relay(front, back, serverPort);
  }

  get port(): number {
    return this.front.address().port;
  }

  /** The relay's address as the server sees it. */
  get serverSidePort(): number {
    return this.back.address().port;
  }

  /** Sends raw bytes to the server as if from the client. */
  inject(datagram: Buffer): void {
    this.back.send(datagram, this.serverPort, '127.0.0.1');
  }

  async close(): Promise<void> {
    await Promise.all([new Promise<void>((r) => this.front.close(() => r())), new Promise<void>((r) => this.back.close(() => r()))]);
  }
}

/** A ClientHello record (epoch 0) as a datagram, with the given cookie. */
export function clientHelloDatagram(options: { cookie?: Buffer; random?: Buffer; recordSeq?: number; messageSeq?: number; suites?: number[]; version?: number } = {}): { datagram: Buffer; hello: ClientHello } {
  const hello: ClientHello = {
    version: options.version ?? DTLS_1_2,
    random: options.random ?? randomBytes(32),
    sessionId: Buffer.alloc(0),
    cookie: options.cookie ?? Buffer.alloc(0),
    cipherSuites: options.suites ?? [0xc0a8, EMPTY_RENEGOTIATION_INFO_SCSV],
    compressionMethods: [0],
    extensions: [],
  };
  const message = encodeHandshake({ type: HandshakeType.ClientHello, messageSeq: options.messageSeq ?? 0, body: encodeClientHello(hello) });
  return { datagram: encodeRecord(ContentType.Handshake, DTLS_1_2, 0, options.recordSeq ?? 0, message), hello };
}

/** A bound UDP socket on loopback, for raw exchanges with a server. */
export async function rawSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

export function closeSocket(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

/** Absolute path of the first of `names` found on PATH. */
export function findTool(...names: string[]): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/bin', '/usr/local/bin']);
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      if (dir && existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

/** In CI a missing tool fails the suite; elsewhere the suite is skipped with a message. */
export function requireTool(ctx: Mocha.Context, tool: string | undefined, hint: string): void {
  if (tool !== undefined) return;
  if (process.env.CI) throw new Error(`${hint} is not installed: CI must install it`);
  console.log(`    (skipped: ${hint} not installed)`);
  ctx.skip();
}

export interface ProcessResult {
  /** stdout and stderr, interleaved. */
  output: string;
  code: number | null;
}

export interface RunningProcess {
  /** Resolves when the process ends (killed after `timeoutMs`). */
  done: Promise<ProcessResult>;
  /** stdout + stderr so far. */
  output(): string;
  write(text: string): void;
  /** Closes stdin (OpenSSL's s_client and s_server then end the connection and exit). */
  endInput(): void;
  /** Resolves when the output matches (rejects after `timeoutMs` or when the process ends first). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  kill(): void;
}

/** Starts a process with piped stdio; stdin stays open until endInput(). */
export function startProcess(binary: string, args: string[], options: { timeoutMs?: number } = {}): RunningProcess {
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let ended = false;
  const listeners = new Set<() => void>();
  const onData = (d: Buffer): void => {
    output += d.toString();
    for (const l of [...listeners]) l();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.stdin.on('error', () => {}); // the process may exit before reading
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
  const done = new Promise<ProcessResult>((resolve) => {
    child.on('close', (code) => {
      ended = true;
      clearTimeout(killer);
      for (const l of [...listeners]) l();
      resolve({ output, code });
    });
  });
  return {
    done,
    output: () => output,
    write: (text) => {
      if (!ended) child.stdin.write(text);
    },
    endInput: () => child.stdin.end(),
    waitForOutput: (pattern, timeoutMs = 5000) => new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (pattern.test(output)) {
          cleanup();
          resolve();
        } else if (ended) {
          cleanup();
          reject(new Error(`process ended before printing ${pattern}; output:\n${output}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${output}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    }),
    kill: () => child.kill('SIGKILL'),
  };
}

/** A free UDP port on loopback (bound, then released). */
export async function freeUdpPort(): Promise<number> {
  const s = await rawSocket();
  const port = s.address().port;
  await closeSocket(s);
  return port;
}
