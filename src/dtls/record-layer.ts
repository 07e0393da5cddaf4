/**
 * The record layer state of one connection (RFC 6347 §4.1): per epoch, the
 * protection of each direction, our next sequence number and the peer's
 * anti-replay window. Epoch 0 is plaintext; each ChangeCipherSpec moves one
 * direction to the next epoch. The state of earlier read epochs is kept so
 * that retransmitted handshake records can still be recognised.
 */
import type { RecordProtection } from './cipher-suites.js';
import { AlertDescription, DTLS_1_2, MAX_PLAINTEXT_LENGTH, MAX_SEQUENCE } from './constants.js';
import { DtlsError } from './errors.js';
import { encodeRecord, type DtlsRecord } from './record.js';
import { ReplayWindow } from './replay-window.js';

interface WriteState {
  protection: RecordProtection | null;
  seq: number;
}

interface ReadState {
  protection: RecordProtection | null;
  window: ReplayWindow;
}

/** Why a received record was not opened. */
export type DropReason = 'epoch' | 'replay' | 'unauthenticated' | 'too-long';

export type OpenResult = { plaintext: Buffer } | { drop: DropReason };

export class RecordLayer {
  private readEpoch = 0;
  private writeEpoch = 0;
  private readonly writeStates: WriteState[] = [{ protection: null, seq: 0 }];
  private readonly readStates: ReadState[] = [{ protection: null, window: new ReplayWindow() }];
  private pendingRead: RecordProtection | null = null;

  /** Epoch of the records we accept as current. */
  get currentReadEpoch(): number {
    return this.readEpoch;
  }

  /** Epoch our alerts and application data go out in. */
  get currentWriteEpoch(): number {
    return this.writeEpoch;
  }

  /**
   * Checks the replay window, authenticates and decrypts. Records of an
   * unknown (future) epoch are dropped: a Finished overtaking its
   * ChangeCipherSpec is left to retransmission (RFC 6347 §4.1).
   */
  open(record: DtlsRecord): OpenResult {
    const read = this.readStates[record.epoch];
    if (!read || (record.epoch > 0 && record.version !== DTLS_1_2)) return { drop: 'epoch' };
    if (read.protection === null) {
      return record.fragment.length > MAX_PLAINTEXT_LENGTH ? { drop: 'too-long' } : { plaintext: record.fragment };
    }
    if (!read.window.check(record.seq)) return { drop: 'replay' };
    const plaintext = read.protection.open(record.type, record.version, record.epoch, record.seq, record.fragment);
    if (plaintext === null) return { drop: 'unauthenticated' };
    if (plaintext.length > MAX_PLAINTEXT_LENGTH) return { drop: 'too-long' };
    read.window.accept(record.seq); // only now: a forged record must not move the window
    return { plaintext };
  }

  /** Protects and frames one record of `epoch` with the next sequence number of that epoch. */
  seal(type: number, epoch: number, plaintext: Buffer): Buffer {
    const write = this.writeStates[epoch];
    if (!write) throw new DtlsError(AlertDescription.InternalError, `no write state for epoch ${epoch}`);
    const seq = write.seq;
    if (seq > MAX_SEQUENCE) throw new DtlsError(AlertDescription.InternalError, 'record sequence numbers exhausted');
    write.seq++;
    const body = write.protection ? write.protection.seal(type, DTLS_1_2, epoch, seq, plaintext) : plaintext;
    return encodeRecord(type, DTLS_1_2, epoch, seq, body);
  }

  /** Bytes protection adds to a record of `epoch`. */
  overhead(epoch: number): number {
    return this.writeStates[epoch]?.protection?.overhead ?? 0;
  }

  /** Keys of the next read epoch, installed when the peer's ChangeCipherSpec arrives. */
  setPendingRead(protection: RecordProtection): void {
    this.pendingRead = protection;
  }

  get hasPendingRead(): boolean {
    return this.pendingRead !== null;
  }

  /** The peer's ChangeCipherSpec: reads move to the next epoch. */
  activatePendingRead(): void {
    if (!this.pendingRead) throw new DtlsError(AlertDescription.InternalError, 'no pending read state');
    this.readEpoch++;
    this.readStates[this.readEpoch] = { protection: this.pendingRead, window: new ReplayWindow() };
    this.pendingRead = null;
  }

  /** Our ChangeCipherSpec: writes move to the next epoch. Returns its number. */
  startWriteEpoch(protection: RecordProtection): number {
    this.writeStates.push({ protection, seq: 0 });
    this.writeEpoch = this.writeStates.length - 1;
    return this.writeEpoch;
  }

  /** Sequence number of our next epoch-0 record (a server continues from the client's ClientHello). */
  setEpochZeroSequence(seq: number): void {
    this.writeStates[0]!.seq = seq;
  }
}
