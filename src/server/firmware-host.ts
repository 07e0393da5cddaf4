/**
 * Pull delivery: the server offers the package itself and writes its URI to
 * /5/0/1. Each job gets its own path with 128 random bits in it, so a
 * package cannot be fetched by guessing, and the path stops being served
 * when the job ends.
 *
 * - CoapImageHost serves on the LwM2M server's own CoAP endpoint
 *   (`coap://<host>:<port>/fw/<random>`); the CoAP layer cuts the answer into
 *   Block2 blocks. It sees the first request of each download (and any
 *   request that arrives after the layer forgot the representation), not
 *   every block: the layer answers later blocks from its cache.
 * - HttpImageHost serves over HTTP from a node:http server of its own or one
 *   the caller already runs, and counts every byte it writes.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { IncomingRequest, OutgoingResponse } from '../coap/api.js';
import { getBlock2, blockSize } from '../coap/block.js';
import { CoapCode, Lwm2mError } from '../errors.js';
import { ContentFormat } from '../formats/content-format.js';
import type { Lwm2mServer } from './lwm2m-server.js';

/** The Package URI resource holds at most 255 bytes. */
export const MAX_PACKAGE_URI_LENGTH = 255;

export interface ImageToHost {
  readonly data: Buffer;
  /** SHA-256 of `data` (hex); its first 8 bytes become the CoAP ETag. */
  readonly sha256: string;
}

/** What a device fetched: `offset` is where the request starts, `bytes` what has been handed out so far. */
export interface FetchEvent {
  readonly offset: number;
  readonly bytes: number;
  readonly total: number;
  /** Where the request came from ("127.0.0.1:5683"). */
  readonly from: string;
}

export interface HostedImage {
  readonly uri: string;
  /** Stops serving the image. */
  close(): void;
}

export interface ImageHost {
  readonly protocol: 'coap' | 'http';
  host(image: ImageToHost, onFetch?: (e: FetchEvent) => void): HostedImage;
}

/** 128 random bits, URL-safe. */
export function unguessableSegment(): string {
  return randomBytes(16).toString('base64url');
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

/** Checks a base URI ("coap://gw.local:5683", "http://10.0.0.2:8080/lwm2m") and drops a trailing slash. */
function checkBase(base: string, schemes: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new Lwm2mError(CoapCode.BadRequest, `"${base}" is not a URI`);
  }
  if (!schemes.includes(url.protocol)) throw new Lwm2mError(CoapCode.BadRequest, `"${base}" must start with ${schemes.map((s) => `${s}//`).join(' or ')}`);
  if (url.search !== '' || url.hash !== '') throw new Lwm2mError(CoapCode.BadRequest, `"${base}" must not have a query or fragment`);
  return base.replace(/\/+$/, '');
}

function checkLength(uri: string): void {
  if (Buffer.byteLength(uri) > MAX_PACKAGE_URI_LENGTH) {
    throw new Lwm2mError(CoapCode.BadRequest, `the package URI ${uri} is longer than the ${MAX_PACKAGE_URI_LENGTH} bytes /5/0/1 holds`);
  }
}

export interface CoapImageHostOptions {
  /**
   * Where devices reach the server: "coap://gateway.local:5683". Needed when
   * the server listens on a wildcard address (0.0.0.0, ::); otherwise the
   * server's own address and port are used.
   */
  baseUri?: string;
  /** First path segment of hosted images (default "fw"). */
  prefix?: string;
}

export class CoapImageHost implements ImageHost {
  readonly protocol = 'coap' as const;
  private readonly prefix: string;

  constructor(private readonly server: Lwm2mServer, private readonly options: CoapImageHostOptions = {}) {
    this.prefix = options.prefix ?? 'fw';
    if (this.options.baseUri !== undefined) checkBase(this.options.baseUri, ['coap:', 'coaps:']);
  }

  /** The base URI packages are offered under (throws a configuration error when it cannot be known). */
  baseUri(): string {
    if (this.options.baseUri !== undefined) return checkBase(this.options.baseUri, ['coap:', 'coaps:']);
    const { address, port } = this.server.address();
    if (isWildcard(address)) {
      throw new Lwm2mError(
        CoapCode.InternalServerError,
        `the server listens on ${address || 'every address'}: set the base URI devices reach it at (e.g. coap://192.168.1.10:${port})`,
      );
    }
    return `coap://${formatHost(address)}:${port}`;
  }

  host(image: ImageToHost, onFetch?: (e: FetchEvent) => void): HostedImage {
    const segment = unguessableSegment();
    const uri = `${this.baseUri()}/${this.prefix}/${segment}`;
    checkLength(uri);
    const etag = Buffer.from(image.sha256.slice(0, 16), 'hex');
    const stop = this.server.serveResource([this.prefix, segment], (req: IncomingRequest): OutgoingResponse => {
      if (req.method !== 'GET') return { code: CoapCode.MethodNotAllowed };
      if (onFetch) {
        // Only what is known for sure: the device has the bytes before the block it asks for.
        let offset = 0;
        try {
          const block = getBlock2(req.options);
          offset = block ? Math.min(block.num * blockSize(block.szx), image.data.length) : 0;
        } catch {
          offset = 0; // a broken Block2 option is the CoAP layer's to answer
        }
        onFetch({ offset, bytes: offset, total: image.data.length, from: req.peer.key });
      }
      return { code: CoapCode.Content, payload: image.data, contentFormat: ContentFormat.OPAQUE, etag };
    });
    return { uri, close: stop };
  }
}

export interface HttpImageHostOptions {
  /**
   * Where devices reach the HTTP server: "http://gateway.local:8080". Needed
   * with a server of the caller's, or when listening on a wildcard address.
   */
  baseUrl?: string;
  /** First path segment of hosted images (default "fw"). */
  prefix?: string;
}

interface HttpEntry {
  readonly image: ImageToHost;
  readonly onFetch: ((e: FetchEvent) => void) | undefined;
}

/** Size of the pieces written to an HTTP response (progress is counted per piece). */
const HTTP_CHUNK = 16 * 1024;

export class HttpImageHost implements ImageHost {
  readonly protocol = 'http' as const;
  private readonly prefix: string;
  private readonly entries = new Map<string, HttpEntry>();
  private readonly sockets = new Set<Socket>();
  private ownServer: http.Server | null = null;
  private base: string | undefined;

  constructor(options: HttpImageHostOptions = {}) {
    this.prefix = options.prefix ?? 'fw';
    if (options.baseUrl !== undefined) this.base = checkBase(options.baseUrl, ['http:', 'https:']);
  }

  /** A host with an HTTP server of its own on `port` (0: any free port). */
  static async listen(options: HttpImageHostOptions & { port?: number; address?: string } = {}): Promise<HttpImageHost> {
    const host = new HttpImageHost(options);
    const server = http.createServer((req, res) => {
      if (!host.handle(req, res)) {
        res.statusCode = 404;
        res.end();
      }
    });
    server.on('connection', (socket) => {
      host.sockets.add(socket);
      socket.once('close', () => host.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.address ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    host.ownServer = server;
    if (host.base === undefined) {
      const a = server.address() as AddressInfo;
      if (isWildcard(a.address)) {
        await host.close();
        throw new Lwm2mError(CoapCode.InternalServerError, `the HTTP image server listens on ${a.address}: set the base URL devices reach it at`);
      }
      host.base = `http://${formatHost(a.address)}:${a.port}`;
    }
    return host;
  }

  /** Port of the host's own server. */
  get port(): number | undefined {
    return this.ownServer ? (this.ownServer.address() as AddressInfo).port : undefined;
  }

  /**
   * Answers `req` when it asks for a hosted image (true), leaves it alone
   * otherwise (false): plug this into a server or router of your own.
   */
  handle(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const segments = path.split('/').filter((s) => s !== '');
    if (segments.length !== 2 || segments[0] !== this.prefix) return false;
    const entry = this.entries.get(segments[1] as string);
    if (!entry) {
      res.statusCode = 404;
      res.end();
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405;
      res.setHeader('Allow', 'GET, HEAD');
      res.end();
      return true;
    }
    const data = entry.image.data;
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(data.length));
    res.setHeader('ETag', `"${entry.image.sha256}"`);
    res.setHeader('Cache-Control', 'no-store');
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    const from = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
    let offset = 0;
    const writeMore = (): void => {
      while (offset < data.length) {
        const end = Math.min(offset + HTTP_CHUNK, data.length);
        const ok = res.write(data.subarray(offset, end));
        offset = end;
        entry.onFetch?.({ offset: 0, bytes: offset, total: data.length, from });
        if (!ok) {
          res.once('drain', writeMore);
          return;
        }
      }
      res.end();
    };
    writeMore();
    return true;
  }

  host(image: ImageToHost, onFetch?: (e: FetchEvent) => void): HostedImage {
    if (this.base === undefined) throw new Lwm2mError(CoapCode.InternalServerError, 'the HTTP image host needs the base URL devices reach it at');
    const segment = unguessableSegment();
    const uri = `${this.base}/${this.prefix}/${segment}`;
    checkLength(uri);
    const entry: HttpEntry = { image, onFetch };
    this.entries.set(segment, entry);
    return {
      uri,
      close: () => {
        if (this.entries.get(segment) === entry) this.entries.delete(segment);
      },
    };
  }

  /** Stops hosting; closes the host's own server (not a server of the caller's). */
  async close(): Promise<void> {
    this.entries.clear();
    const server = this.ownServer;
    this.ownServer = null;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
