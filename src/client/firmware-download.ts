/**
 * Pull delivery of a firmware package (Firmware Update object, /5/0/1):
 * coap:// through the client's own CoAP endpoint (Block2 handled there),
 * http:// and https:// through node:http/https. Failures carry the Update
 * Result they map to:
 *   2 not enough storage (package larger than allowed),
 *   4 connection lost (timeout, reset, network error, 5.xx),
 *   7 invalid URI (the resource is not there: 4.xx / HTTP 4xx),
 *   9 unsupported protocol.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { CoapEndpoint } from '../coap/endpoint.js';
import { CoapBlockError } from '../coap/errors.js';
import { resolvePeer } from './registration.js';
import { UpdateResult, type UpdateResultValue } from '../model/firmware-object.js';

/** Update Result values (Firmware Update object, resource 5). */
export { UpdateResult, type UpdateResultValue };

export class DownloadError extends Error {
  constructor(readonly result: UpdateResultValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DownloadError';
  }
}

export interface DownloadOptions {
  endpoint: CoapEndpoint;
  maxSize: number;
  /** Deadline of each CoAP exchange, or of HTTP inactivity (ms). */
  timeoutMs: number;
  signal: AbortSignal;
}

/** Protocols a pull may use, with their /5/0/8 Firmware Update Protocol Support values. */
export const PULL_PROTOCOLS: Readonly<Record<string, number>> = { 'coap:': 0, 'http:': 2, 'https:': 3 };

export async function downloadPackage(uri: URL, options: DownloadOptions): Promise<Buffer> {
  if (uri.protocol === 'coap:') return downloadCoap(uri, options);
  if (uri.protocol === 'http:' || uri.protocol === 'https:') return downloadHttp(uri, options);
  throw new DownloadError(UpdateResult.unsupportedProtocol, `protocol ${uri.protocol} is not supported for firmware download`);
}

async function downloadCoap(uri: URL, options: DownloadOptions): Promise<Buffer> {
  let peer;
  try {
    peer = await resolvePeer(uri.href);
  } catch (err) {
    throw new DownloadError(UpdateResult.invalidUri, `cannot resolve ${uri.hostname}`, { cause: err });
  }
  const path = uri.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  const query = uri.search === '' ? undefined : uri.search.slice(1).split('&').map(decodeURIComponent);
  let res;
  try {
    res = await options.endpoint.request(peer, {
      method: 'GET',
      path,
      ...(query ? { query } : {}),
      maxBodySize: options.maxSize,
      timeoutMs: options.timeoutMs,
    });
  } catch (err) {
    if (options.signal.aborted) throw new DownloadError(UpdateResult.cancelled, 'download cancelled');
    if (err instanceof CoapBlockError && err.code === '4.13') {
      throw new DownloadError(UpdateResult.notEnoughFlash, `package larger than ${options.maxSize} bytes`, { cause: err });
    }
    throw new DownloadError(UpdateResult.connectionLost, `CoAP download failed: ${(err as Error).message}`, { cause: err });
  }
  if (res.code === '2.05') {
    if (res.payload.length > options.maxSize) throw new DownloadError(UpdateResult.notEnoughFlash, `package larger than ${options.maxSize} bytes`);
    return res.payload;
  }
  if (res.code.startsWith('4.')) throw new DownloadError(UpdateResult.invalidUri, `the package server answered ${res.code}`);
  throw new DownloadError(UpdateResult.connectionLost, `the package server answered ${res.code}`);
}

function downloadHttp(uri: URL, options: DownloadOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const get = uri.protocol === 'https:' ? https.get : http.get;
    let settled = false;
    const fail = (err: DownloadError): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(err);
    };
    const req = get(uri, { signal: options.signal, timeout: options.timeoutMs }, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        res.resume();
        fail(new DownloadError(status >= 400 && status < 500 ? UpdateResult.invalidUri : UpdateResult.connectionLost, `HTTP ${status} from ${uri.host}`));
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > options.maxSize) {
        fail(new DownloadError(UpdateResult.notEnoughFlash, `package of ${declared} bytes is larger than ${options.maxSize}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxSize) {
          fail(new DownloadError(UpdateResult.notEnoughFlash, `package larger than ${options.maxSize} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        if (settled) return;
        if (!res.complete) {
          fail(new DownloadError(UpdateResult.connectionLost, 'the connection closed before the package was complete'));
          return;
        }
        settled = true;
        resolve(Buffer.concat(chunks, size));
      });
      res.on('error', (err) => fail(new DownloadError(UpdateResult.connectionLost, `download failed: ${err.message}`, { cause: err })));
    });
    req.on('timeout', () => fail(new DownloadError(UpdateResult.connectionLost, `no data from ${uri.host} for ${options.timeoutMs} ms`)));
    req.on('error', (err) => {
      if (options.signal.aborted) fail(new DownloadError(UpdateResult.cancelled, 'download cancelled'));
      else fail(new DownloadError(UpdateResult.connectionLost, `download failed: ${err.message}`, { cause: err }));
    });
  });
}
