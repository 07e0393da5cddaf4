/**
 * Server side of Block1 (RFC 7959 section 2.5): collects the blocks of a
 * large request body per transfer key (peer + method + path + query) until
 * the last block arrives, then hands the whole body to the request handler.
 *
 * A block must start exactly where the previous one ended; anything else is
 * 4.08 (Request Entity Incomplete). A client may send its first block larger
 * than our preferred size: the data is kept and the client continues at the
 * matching block number of the smaller size.
 */
import { BoundedStore, type StoredItem } from './bounded-store.js';
import { blockSize, type BlockOption } from './block.js';

interface Transfer extends StoredItem {
  chunks: Buffer[];
  received: number;
}

export type Block1Outcome =
  | { kind: 'continue' }
  | { kind: 'complete'; body: Buffer }
  /** A block is missing or out of order (4.08). */
  | { kind: 'incomplete'; reason: string }
  /** The body exceeds the size cap (4.13). */
  | { kind: 'too-large' }
  /** A non-final block whose size does not match its SZX (4.00). */
  | { kind: 'bad-block'; reason: string };

export interface Block1AssemblerOptions {
  /** Largest body accepted (bytes). */
  maxBodySize: number;
  /** Concurrent transfers kept. */
  maxTransfers: number;
  /** Bytes kept over all transfers. */
  maxBytes: number;
  /** A transfer with no block for this long is dropped (ms). */
  idleMs: number;
}

const CONTINUE: Block1Outcome = { kind: 'continue' };
const TOO_LARGE: Block1Outcome = { kind: 'too-large' };

export class Block1Assembler {
  readonly maxBodySize: number;
  private readonly store: BoundedStore<Transfer>;

  constructor(options: Block1AssemblerOptions) {
    this.maxBodySize = options.maxBodySize;
    this.store = new BoundedStore<Transfer>(options.maxTransfers, options.maxBytes, options.idleMs);
  }

  get size(): number {
    return this.store.size;
  }

  get bytes(): number {
    return this.store.bytes;
  }

  /**
   * Adds one block. `size1` is the total size the client announced, if any
   * (lets a too-large body be refused at its first block).
   */
  receive(key: string, block: BlockOption, payload: Buffer, size1: number | undefined, now: number): Block1Outcome {
    const size = blockSize(block.szx);
    if (block.more && payload.length !== size) {
      this.store.delete(key);
      return { kind: 'bad-block', reason: `block ${block.num} of ${payload.length} bytes does not match its size ${size}` };
    }
    if (block.num === 0) {
      this.store.delete(key);
      if ((size1 !== undefined && size1 > this.maxBodySize) || payload.length > this.maxBodySize) return TOO_LARGE;
      if (!block.more) return { kind: 'complete', body: payload };
      this.store.set(key, { chunks: [payload], received: payload.length, bytes: payload.length, touched: now });
      return CONTINUE;
    }
    const t = this.store.get(key, now);
    if (t === undefined) return { kind: 'incomplete', reason: `block ${block.num} without an ongoing transfer` };
    const offset = block.num * size;
    if (offset !== t.received) {
      this.store.delete(key);
      return { kind: 'incomplete', reason: `block ${block.num} starts at byte ${offset}, expected ${t.received}` };
    }
    if (t.received + payload.length > this.maxBodySize) {
      this.store.delete(key);
      return TOO_LARGE;
    }
    t.chunks.push(payload);
    t.received += payload.length;
    if (!block.more) {
      this.store.delete(key);
      return { kind: 'complete', body: Buffer.concat(t.chunks, t.received) };
    }
    this.store.touch(key, t, now);
    this.store.resize(key, t, payload.length);
    return CONTINUE;
  }

  sweep(now: number): void {
    this.store.sweep(now);
  }

  clear(): void {
    this.store.clear();
  }
}
