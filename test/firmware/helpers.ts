/**
 * Plumbing for the firmware orchestration tests: an LwM2M server with short
 * CoAP timings, devices played by our own client engine (Lwm2mClient with
 * the Firmware Update object) that record what they received, a relay that
 * rewrites datagrams, and small waiting helpers.
 */
import { createHash } from 'node:crypto';
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { Lwm2mClient, type Lwm2mClientOptions } from '../../src/client/client.js';
import type { FirmwareHooks, VerifyVerdict } from '../../src/client/firmware.js';
import type { TransmissionParameters } from '../../src/coap/params.js';
import { encodeMessage, parseMessage, type CoapMessage } from '../../src/coap/packet.js';
import { udpPeer, type Peer } from '../../src/coap/transport.js';
import { Lwm2mServer, type Lwm2mServerOptions } from '../../src/server/lwm2m-server.js';

/** Loopback timings: a lost datagram costs tens of milliseconds. */
export const FAST: Partial<TransmissionParameters> = { ackTimeoutMs: 40, ackRandomFactor: 1.5, maxRetransmit: 3, nstart: Infinity, maxLatencyMs: 1000 };

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Deterministic bytes (a failing hash is reproducible). */
export function pseudoRandomBytes(length: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

/** A seeded generator in [0, 1) (drop decisions that do not depend on Math.random). */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

export async function startServer(options: Lwm2mServerOptions = {}): Promise<Lwm2mServer> {
  const server = new Lwm2mServer({ address: '127.0.0.1', port: 0, requestTimeoutMs: 2000, transmission: FAST, ...options });
  await server.start();
  return server;
}

export function serverUri(server: Lwm2mServer): string {
  return `coap://127.0.0.1:${server.address().port}`;
}

export interface ReceivedPackage {
  readonly size: number;
  readonly sha256: string;
  readonly delivery: 'push' | 'pull';
}

export interface DeviceOptions {
  endpoint?: string;
  /** Where the device registers (default: the server itself; a relay's address in lossy tests). */
  uri?: string;
  lwm2mVersion?: '1.0' | '1.1' | '1.2';
  push?: boolean;
  pull?: boolean;
  maxSize?: number;
  /** The device accepts only a package with this SHA-256 (integrity failure otherwise). */
  acceptSha256?: string;
  /** Overrides the verdict of the verify hook. */
  verdict?: VerifyVerdict;
  /** Replaces the update hook (default: succeed and report `newVersion`). */
  update?: FirmwareHooks['update'];
  firmwareVersion?: string;
  newVersion?: string;
  transmission?: Partial<TransmissionParameters>;
  requestTimeoutMs?: number;
  downloadTimeoutMs?: number;
  queueMode?: boolean;
  awakeTimeMs?: number;
  lifetime?: number;
  /** Objects besides the defaults (the Firmware Update object is added unless `noFirmware`). */
  noFirmware?: boolean;
  client?: Partial<Lwm2mClientOptions>;
}

export interface TestDevice {
  readonly client: Lwm2mClient;
  readonly endpoint: string;
  readonly received: ReceivedPackage[];
  readonly installed: Buffer[];
  stop(): Promise<void>;
}

let deviceCounter = 0;

/** Creates (does not start) a device: our client engine with the Firmware Update object. */
export function createDevice(server: Lwm2mServer, options: DeviceOptions = {}): TestDevice {
  const endpoint = options.endpoint ?? `fw-dev-${++deviceCounter}`;
  const received: ReceivedPackage[] = [];
  const installed: Buffer[] = [];
  const hooks: FirmwareHooks = {
    verify: (pkg, info) => {
      const hash = sha256(pkg);
      received.push({ size: info.size, sha256: hash, delivery: info.delivery });
      if (options.verdict !== undefined) return options.verdict;
      return options.acceptSha256 === undefined || hash === options.acceptSha256 ? 'ok' : 'integrity';
    },
    update:
      options.update ??
      ((pkg) => {
        installed.push(pkg);
        return { firmwareVersion: options.newVersion ?? '2.0.0' };
      }),
  };
  const client = new Lwm2mClient({
    endpoint,
    lwm2mVersion: options.lwm2mVersion ?? '1.2',
    bindAddress: '127.0.0.1',
    transmission: options.transmission ?? FAST,
    requestTimeoutMs: options.requestTimeoutMs ?? 2000,
    device: { manufacturer: 'Test', firmwareVersion: options.firmwareVersion ?? '1.0.0' },
    servers: [{ uri: options.uri ?? serverUri(server), lifetime: options.lifetime ?? 300, ...(options.queueMode ? { queueMode: true } : {}) }],
    ...(options.awakeTimeMs !== undefined ? { awakeTimeMs: options.awakeTimeMs } : {}),
    ...(options.noFirmware
      ? {}
      : {
          firmware: {
            maxSize: options.maxSize ?? 4 * 1024 * 1024,
            downloadTimeoutMs: options.downloadTimeoutMs ?? 2000,
            ...(options.push !== undefined ? { push: options.push } : {}),
            ...(options.pull !== undefined ? { pull: options.pull } : {}),
            hooks,
          },
        }),
    ...options.client,
  });
  return { client, endpoint, received, installed, stop: () => client.stop({ timeoutMs: 300 }) };
}

/** Resolves when `endpoint` registers with `server`. */
export function registration(server: Lwm2mServer, endpoint: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      server.off('registered', listener);
      reject(new Error(`${endpoint} did not register within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (reg: { endpoint: string }): void => {
      if (reg.endpoint !== endpoint) return;
      clearTimeout(timer);
      server.off('registered', listener);
      resolve();
    };
    server.on('registered', listener);
  });
}

/** Creates a device, starts it and waits until the server has its registration. */
export async function startDevice(server: Lwm2mServer, options: DeviceOptions = {}): Promise<TestDevice> {
  const device = createDevice(server, options);
  const registered = registration(server, device.endpoint);
  await device.client.start();
  await registered;
  return device;
}

export type Direction = 'toServer' | 'toDevice';

/**
 * A UDP relay between one device and the server that may rewrite or drop
 * datagrams: `transform` returns the datagram to forward, or null to drop
 * it. Records the parsed messages that went through.
 */
export class RewritingRelay {
  readonly log: Array<{ direction: Direction; message: CoapMessage | undefined }> = [];
  private deviceAddr: { port: number; address: string } | null = null;

  private constructor(
    private readonly front: dgram.Socket,
    private readonly back: dgram.Socket,
    private readonly serverPort: number,
    public transform: (direction: Direction, message: CoapMessage) => CoapMessage | null,
  ) {
    front.on('message', (msg, rinfo) => {
      this.deviceAddr = { port: rinfo.port, address: rinfo.address };
      this.forward('toServer', msg, (out) => back.send(out, this.serverPort, '127.0.0.1'));
    });
    back.on('message', (msg) => {
      const to = this.deviceAddr;
      if (to) this.forward('toDevice', msg, (out) => front.send(out, to.port, to.address));
    });
  }

  static async start(serverPort: number, transform: RewritingRelay['transform'] = (_d, m) => m): Promise<RewritingRelay> {
    const bind = async (): Promise<dgram.Socket> => {
      const s = dgram.createSocket('udp4');
      s.bind(0, '127.0.0.1');
      await once(s, 'listening');
      return s;
    };
    return new RewritingRelay(await bind(), await bind(), serverPort, transform);
  }

  /** Where the device sends. */
  get uri(): string {
    return `coap://127.0.0.1:${this.front.address().port}`;
  }

  get peer(): Peer {
    return udpPeer('127.0.0.1', this.front.address().port);
  }

  private forward(direction: Direction, datagram: Buffer, send: (out: Buffer) => void): void {
    let message: CoapMessage;
    try {
      message = parseMessage(datagram);
    } catch {
      send(datagram);
      return;
    }
    this.log.push({ direction, message });
    const out = this.transform(direction, message);
    if (out) send(out === message ? datagram : encodeMessage(out));
  }

  close(): void {
    this.front.close();
    this.back.close();
  }
}
