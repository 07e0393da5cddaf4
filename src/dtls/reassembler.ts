/**
 * Handshake reassembly (RFC 6347 §4.2.2/§4.2.3): fragments of the message
 * expected next, and of a few after it, are collected until whole;
 * messages are released strictly in message_seq order. Memory is bounded:
 * messages too far ahead are dropped and left to retransmission.
 */
import { DtlsDecodeError } from './errors.js';
import type { HandshakeFragment, HandshakeMessage } from './handshake.js';

/** How far ahead of the expected message_seq fragments are kept. */
const MAX_AHEAD = 8;
/**
 * Bytes of unfinished messages one handshake may hold. PSK handshake messages
 * are small (the largest is a ClientKeyExchange with its identity); this
 * keeps a thousand stalled handshakes within a few tens of MiB.
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024;

interface Partial {
  type: number;
  body: Buffer;
  /** received[i] = 1 once byte i arrived. */
  received: Uint8Array;
  missing: number;
}

export class HandshakeReassembler {
  private readonly pending = new Map<number, Partial>();
  private buffered = 0;

  constructor(
    private next = 0,
    private readonly maxBufferedBytes = DEFAULT_MAX_BUFFERED_BYTES,
  ) {}

  /** The message_seq of the next message to release. */
  get nextSeq(): number {
    return this.next;
  }

  /** Bytes currently buffered. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Adds one fragment. Returns 'old' for a fragment of a message already
   * released (a retransmission: the caller may answer with its last flight),
   * 'ignored' when too far ahead or over the byte budget, 'stored' otherwise.
   */
  add(fragment: HandshakeFragment): 'old' | 'ignored' | 'stored' {
    if (fragment.messageSeq < this.next) return 'old';
    if (fragment.messageSeq >= this.next + MAX_AHEAD) return 'ignored';
    let partial = this.pending.get(fragment.messageSeq);
    if (!partial) {
      if (this.buffered + fragment.length > this.maxBufferedBytes) return 'ignored';
      this.buffered += fragment.length;
      partial = { type: fragment.type, body: Buffer.alloc(fragment.length), received: new Uint8Array(fragment.length), missing: fragment.length };
      this.pending.set(fragment.messageSeq, partial);
    } else if (partial.type !== fragment.type || partial.body.length !== fragment.length) {
      throw new DtlsDecodeError(`fragments of handshake message ${fragment.messageSeq} disagree on its type or length`);
    }
    fragment.data.copy(partial.body, fragment.offset);
    for (let i = fragment.offset; i < fragment.offset + fragment.data.length; i++) {
      if (partial.received[i] === 0) {
        partial.received[i] = 1;
        partial.missing--;
      }
    }
    return 'stored';
  }

  /** The next complete message in order, if any. */
  take(): HandshakeMessage | undefined {
    const partial = this.pending.get(this.next);
    if (!partial || partial.missing > 0) return undefined;
    this.pending.delete(this.next);
    this.buffered -= partial.body.length;
    return { type: partial.type, messageSeq: this.next++, body: partial.body };
  }

  /**
   * Drops buffered fragments of messages not yet released. Called when the
   * read epoch changes, so that nothing received under the old epoch can
   * complete a message that must come under the new one (the Finished).
   */
  clearPending(): void {
    this.pending.clear();
    this.buffered = 0;
  }

  /** Forgets everything and expects `next` (a handshake that restarts). */
  reset(next: number): void {
    this.clearPending();
    this.next = next;
  }
}
