/**
 * Push delivery: the package is written to /5/0/0 with Block1 (RFC 7959),
 * one block in flight, each block its own confirmable exchange (the CoAP
 * layer retransmits it). The blocks are built here rather than by the CoAP
 * layer's Block1 sender so that every acknowledged block is reported as
 * progress and the transfer can be stopped between blocks.
 *
 * What the device may say on the way:
 *   2.31 Continue + Block1 echo   next block (a smaller SZX in the echo: use it from now on)
 *   4.13 to block 0 + smaller SZX start again with that size
 *   4.08 Request Entity Incomplete the device lost the transfer: start again (bounded)
 *   2.04 to the last block        done (the device has the whole package)
 *   anything else                 refused: the code and the diagnostic go to the caller
 * A block that gets no answer at all (after the retransmissions) also
 * restarts the transfer, at most `restarts` times, because the device's
 * reassembly does not accept a block twice.
 */
import { randomBytes } from 'node:crypto';
import { blockSize as sizeOfSzx, getBlock1, setBlock1, szxForSize } from '../coap/block.js';
import { setSize1 } from '../coap/options.js';
import type { CoapOption } from '../coap/packet.js';
import type { CoapResponse } from '../coap/api.js';
import { CoapCode, Lwm2mError } from '../errors.js';
import { ContentFormat } from '../formats/content-format.js';
import type { Lwm2mServer } from './lwm2m-server.js';
import { codeName } from './response.js';

const PACKAGE_PATH = [5, 0, 0] as const;
const MAX_SIZE_RESTARTS = 3;

export interface PushOptions {
  /** Block size, a power of two from 16 to 1024. */
  blockSize: number;
  /** Deadline of each block exchange (ms); the server's request timeout by default. */
  timeoutMs?: number;
  /**
   * Deadline of the last block's exchange (ms, default 60 s): the device may
   * check the whole package before it answers.
   */
  lastBlockTimeoutMs?: number;
  /** Queue-mode devices: how long one block may wait for the device to wake up (ms). */
  queueTimeoutMs?: number;
  /** Whole-transfer restarts after a lost transfer (default 1). */
  restarts?: number;
  signal?: AbortSignal;
  /** Called after each block the device acknowledged. */
  onProgress?: (sent: number, total: number) => void;
}

export interface PushResult {
  /** Block size used at the end (the device may have asked for a smaller one). */
  readonly blockSize: number;
  readonly blocks: number;
  /** How many times the transfer started again from block 0. */
  readonly restarts: number;
}

/** The device answered the write with an error code (`code`) that is not about the block-wise transfer. */
export class PushRefusedError extends Lwm2mError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'PushRefusedError';
  }
}

/** The transfer was stopped through the abort signal. */
export class PushAbortedError extends Lwm2mError {
  constructor() {
    super(CoapCode.ServiceUnavailable, 'the package transfer was stopped');
    this.name = 'PushAbortedError';
  }
}

export function checkBlockSize(size: number): void {
  if (!(Number.isInteger(size) && size >= 16 && size <= 1024 && (size & (size - 1)) === 0)) {
    throw new Lwm2mError(CoapCode.BadRequest, `block size must be a power of two from 16 to 1024, got ${size}`);
  }
}

export async function pushPackage(server: Lwm2mServer, endpoint: string, data: Buffer, options: PushOptions): Promise<PushResult> {
  checkBlockSize(options.blockSize);
  if (data.length === 0) throw new Lwm2mError(CoapCode.BadRequest, 'an empty package resets the device: nothing to push');
  const maxRestarts = options.restarts ?? 1;
  let szx = szxForSize(options.blockSize);
  let restarts = 0;
  let sizeRestarts = 0;
  let blocks = 0;
  let offset = 0;
  let token = randomBytes(8);
  const total = data.length;

  const startOver = (why: string, cause?: unknown): void => {
    if (restarts >= maxRestarts) {
      if (cause instanceof Error) throw cause;
      throw new Lwm2mError(CoapCode.RequestEntityIncomplete, `the package transfer failed: ${why}`);
    }
    restarts++;
    offset = 0;
    token = randomBytes(8); // a fresh transfer, not the continuation of the lost one
  };

  for (;;) {
    if (options.signal?.aborted) throw new PushAbortedError();
    const size = sizeOfSzx(szx);
    const num = offset / size;
    const end = Math.min(offset + size, total);
    const more = end < total;
    const coapOptions: CoapOption[] = [];
    setBlock1(coapOptions, { num, more, szx });
    if (num === 0) setSize1(coapOptions, total);
    const timeoutMs = more ? options.timeoutMs : (options.lastBlockTimeoutMs ?? Math.max(60_000, options.timeoutMs ?? 0));
    let res: CoapResponse;
    try {
      res = await server.rawRequest(
        endpoint,
        PACKAGE_PATH,
        { method: 'PUT', contentFormat: ContentFormat.OPAQUE, payload: data.subarray(offset, end), options: coapOptions, token, blockSize: size },
        {
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
          ...(options.queueTimeoutMs !== undefined ? { queueTimeoutMs: options.queueTimeoutMs } : {}),
        },
      );
    } catch (err) {
      if (options.signal?.aborted) throw new PushAbortedError();
      // No answer: the device's reassembly state is unknown, start again.
      if (err instanceof Lwm2mError && err.code === CoapCode.GatewayTimeout) {
        startOver(`block ${num} got no answer`, err);
        continue;
      }
      throw err;
    }
    blocks++;
    const echo = getBlock1(res.options);
    if (more && res.code === CoapCode.Continue) {
      if (echo !== undefined && echo.num !== num) {
        startOver(`the device acknowledged block ${echo.num} for block ${num}`);
        continue;
      }
      offset = end;
      if (echo !== undefined && echo.szx < szx) szx = echo.szx; // offset stays a multiple of the smaller size
      options.onProgress?.(offset, total);
      continue;
    }
    if (res.code === CoapCode.RequestEntityTooLarge && num === 0 && echo !== undefined && echo.szx < szx && sizeRestarts < MAX_SIZE_RESTARTS) {
      sizeRestarts++;
      szx = echo.szx;
      offset = 0;
      continue;
    }
    if (res.code === CoapCode.RequestEntityIncomplete) {
      startOver(`the device lost the transfer at block ${num} (4.08)`);
      continue;
    }
    if (!more && res.code === CoapCode.Changed) {
      options.onProgress?.(total, total);
      return { blockSize: sizeOfSzx(szx), blocks, restarts };
    }
    const text = res.payload.length <= 200 ? res.payload.toString('utf8') : '';
    const diagnostic = /^[\x20-\x7e]+$/.test(text) ? `: ${text}` : '';
    if (more && res.code.startsWith('2.')) {
      throw new PushRefusedError(res.code, `the device answered ${res.code} to block ${num} of ${Math.ceil(total / size)} instead of 2.31 Continue`);
    }
    throw new PushRefusedError(res.code, `the device refused the package at block ${num}: ${res.code} ${codeName(res.code)}${diagnostic}`);
  }
}
