/**
 * Client side of block-wise transfers (RFC 7959): sending a large request
 * body with Block1, one block in flight, and fetching the remaining blocks
 * of a large response with Block2. Each block is its own CoAP exchange (new
 * message id and token) through `send`, so retransmission, deadlines and
 * NSTART apply to every block.
 */
import { blockSize, getBlock1, getBlock2, setBlock1, setBlock2 } from './block.js';
import { CoapBlockError } from './errors.js';
import { getETag, OptionNumber, removeOption, setSize1 } from './options.js';
import { EMPTY_BUFFER, isSuccessCode, type CoapOption } from './packet.js';
import type { CoapResponse } from './api.js';

export interface RequestTemplate {
  code: string;
  confirmable: boolean;
  options: CoapOption[];
  payload: Buffer;
  timeoutMs: number;
  /**
   * Token to use; a block-wise transfer keeps one token for all its blocks
   * (some servers, node-coap among them, key their block state by token).
   */
  token?: Buffer;
}

/** Sends one request exchange and resolves with its response. */
export type SendOnce = (t: RequestTemplate) => Promise<CoapResponse>;

const MAX_SIZE_RESTARTS = 3;

/**
 * Sends `t.payload` in blocks of 2^(szx+4) bytes. The server's Block1 in a
 * 2.31 may ask for smaller blocks: later blocks use its size (the block
 * number then counts in the smaller size). A 4.13 to the first block with a
 * smaller size restarts the transfer at that size. Resolves with the final
 * response, or with the first response that is not a continuation.
 */
export async function sendWithBlock1(send: SendOnce, t: RequestTemplate, szx: number): Promise<CoapResponse> {
  const body = t.payload;
  let offset = 0;
  let restarts = 0;
  for (;;) {
    const size = blockSize(szx);
    const num = offset / size;
    const end = Math.min(offset + size, body.length);
    const more = end < body.length;
    const options = t.options.slice();
    setBlock1(options, { num, more, szx });
    if (num === 0) setSize1(options, body.length);
    const res = await send({ ...t, options, payload: body.subarray(offset, end) });
    if (!more) return res;
    const echo = getBlock1(res.options);
    if (isSuccessCode(res.code) && echo !== undefined) {
      if (echo.num !== num) throw new CoapBlockError('4.08', `server acknowledged block ${echo.num} while block ${num} was sent`);
      offset = end;
      if (echo.szx < szx) szx = echo.szx;
      continue;
    }
    if (res.code === '4.13' && num === 0 && echo !== undefined && echo.szx < szx && restarts < MAX_SIZE_RESTARTS) {
      restarts++;
      szx = echo.szx;
      offset = 0;
      continue;
    }
    return res;
  }
}

/**
 * The template for the requests that fetch later blocks: the same method
 * and options without Observe, Block1 or Size1, and no body (except for
 * FETCH, whose body selects the representation).
 */
export function followUpTemplate(t: RequestTemplate): RequestTemplate {
  const options = t.options.slice();
  removeOption(options, OptionNumber.Observe);
  removeOption(options, OptionNumber.Block1);
  removeOption(options, OptionNumber.Size1);
  removeOption(options, OptionNumber.Block2);
  return { ...t, options, payload: t.code === '0.05' ? t.payload : EMPTY_BUFFER };
}

/**
 * Given a first response whose Block2 says more blocks follow, fetches the
 * rest and returns the first response with the whole body (and without the
 * Block2 option). An error response on the way is returned as is. Blocks
 * that do not line up, or an ETag that changes, fail with 4.08; a body over
 * `maxBodySize` fails with 4.13.
 */
export async function fetchRemainingBlocks(send: SendOnce, follow: RequestTemplate, first: CoapResponse, maxBodySize: number): Promise<CoapResponse> {
  const b = getBlock2(first.options);
  if (b === undefined || !b.more || b.num !== 0) return first;
  if (first.payload.length !== blockSize(b.szx)) {
    throw new CoapBlockError('4.08', `first block of ${first.payload.length} bytes does not match its size ${blockSize(b.szx)}`);
  }
  const etag = getETag(first.options);
  const chunks: Buffer[] = [first.payload];
  let total = first.payload.length;
  let szx = b.szx;
  let more = true;
  while (more) {
    const num = total / blockSize(szx);
    const options = follow.options.slice();
    setBlock2(options, { num, more: false, szx });
    const res = await send({ ...follow, options });
    if (!isSuccessCode(res.code)) return res;
    const rb = getBlock2(res.options);
    if (rb === undefined) throw new CoapBlockError('4.08', 'a block-wise response came back without Block2');
    const size = blockSize(rb.szx);
    if (rb.num * size !== total) throw new CoapBlockError('4.08', `block ${rb.num} does not start at byte ${total}`);
    if (rb.more && res.payload.length !== size) throw new CoapBlockError('4.08', `block ${rb.num} is not a full block`);
    const tag = getETag(res.options);
    if (etag !== undefined && tag !== undefined && !etag.equals(tag)) {
      throw new CoapBlockError('4.08', 'the representation changed during the block-wise transfer (ETag)');
    }
    total += res.payload.length;
    if (total > maxBodySize) throw new CoapBlockError('4.13', `response body over ${maxBodySize} bytes`);
    chunks.push(res.payload);
    szx = rb.szx;
    more = rb.more;
  }
  const options = first.options.slice();
  removeOption(options, OptionNumber.Block2);
  return { ...first, options, payload: Buffer.concat(chunks, total) };
}
