/**
 * One DTLS association with one peer, in either role: records in and out
 * (through record-layer.ts), handshake reassembly, flights with
 * retransmission, alerts and application data. The handshake logic of
 * each role lives in a subclass (server-handshake.ts, client-handshake.ts);
 * sockets live in the transports. Everything here is driven by
 * `handleRecords` (one call per received datagram) and by timers.
 */
import { createHash, type Hash } from 'node:crypto';
import type { RecordProtection } from './cipher-suites.js';
import { AlertDescription, AlertLevel, alertName, ContentType, HANDSHAKE_HEADER_LENGTH, MAX_PLAINTEXT_LENGTH, RECORD_HEADER_LENGTH } from './constants.js';
import { DtlsAlertReceived, DtlsError } from './errors.js';
import { encodeHandshake, fragmentHandshake, parseHandshakeFragments, type HandshakeMessage } from './handshake.js';
import { HandshakeReassembler } from './reassembler.js';
import type { DtlsRecord } from './record.js';
import { RecordLayer, type DropReason } from './record-layer.js';
import type { DtlsStats } from './stats.js';
import type { Logger } from '../coap/transport.js';

export interface SessionOptions {
  /** Largest datagram we send during the handshake (bytes). */
  mtu: number;
  /** First retransmission timeout of a flight (ms; RFC 6347 §4.2.4.1 suggests 1000). */
  retransmitInitialMs: number;
  /** Ceiling of the doubling retransmission timeout (ms). */
  retransmitMaxMs: number;
  /** A handshake not finished after this long fails (ms). */
  handshakeTimeoutMs: number;
  logger: Logger;
  stats: DtlsStats;
}

/** What a session needs from its transport. */
export interface SessionHost {
  sendDatagram(session: DtlsSession, datagram: Buffer): void;
  onEstablished(session: DtlsSession): void;
  onApplicationData(session: DtlsSession, data: Buffer): void;
  /** Called once; `reason` is undefined for a local, orderly close. */
  onClosed(session: DtlsSession, reason: Error | undefined): void;
}

/** One entry of an outgoing flight, kept so that the flight can be sent again with fresh record numbers. */
export type FlightItem =
  | { kind: 'handshake'; message: HandshakeMessage; epoch: number }
  | { kind: 'ccs'; epoch: number };

export type SessionState = 'handshaking' | 'established' | 'closed';

export abstract class DtlsSession {
  /** Authenticated identity (the PSK identity) once established. */
  identity: string | undefined;
  /** Date.now() of the last authenticated record from the peer. */
  lastActivity = Date.now();
  protected state: SessionState = 'handshaking';
  private readonly records = new RecordLayer();
  protected readonly reassembler = new HandshakeReassembler();
  /** message_seq of our next handshake message. */
  protected nextSendSeq = 0;
  private transcript: Hash = createHash('sha256');
  private flight: FlightItem[] | null = null;
  private flightFinal = false;
  private flightSentAt = 0;
  private retransmitDelay: number;
  private retransmitTimer: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null;
  private retransmitWanted = false;

  constructor(
    protected readonly host: SessionHost,
    protected readonly options: SessionOptions,
    /** For logs: "dtls:[192.0.2.1]:5684". */
    readonly label: string,
  ) {
    this.retransmitDelay = options.retransmitInitialMs;
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = null;
      this.fail(new DtlsError(AlertDescription.HandshakeFailure, `handshake with ${label} timed out`), false);
    }, options.handshakeTimeoutMs);
    this.handshakeTimer.unref();
  }

  get isEstablished(): boolean {
    return this.state === 'established';
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  // ----------------------------------------------------------------------
  // Input
  // ----------------------------------------------------------------------

  /** The records of one datagram, in order. Never throws. */
  handleRecords(records: readonly DtlsRecord[]): void {
    this.retransmitWanted = false;
    for (const record of records) {
      if (this.state === 'closed') return;
      try {
        this.handleRecord(record);
      } catch (err) {
        this.fail(err);
      }
    }
    // A retransmitted flight from the peer means ours was lost: send it again, once per datagram.
    if (this.retransmitWanted && this.state !== 'closed') this.retransmitOnRequest();
  }

  private handleRecord(record: DtlsRecord): void {
    const opened = this.records.open(record);
    if ('drop' in opened) {
      this.countDrop(opened.drop);
      if (opened.drop === 'unauthenticated') this.onUnauthenticatedRecord(record);
      return;
    }
    const plaintext = opened.plaintext;
    if (record.epoch < this.records.currentReadEpoch) {
      // An earlier epoch carries nothing new once the peer moved on; only a retransmitted handshake matters.
      if (record.type === ContentType.Handshake) this.noticeOldHandshake(plaintext);
      return;
    }
    if (record.epoch > 0) this.lastActivity = Date.now();
    switch (record.type) {
      case ContentType.Handshake:
        this.handleHandshakeRecord(plaintext);
        return;
      case ContentType.ChangeCipherSpec:
        this.handleChangeCipherSpec(plaintext);
        return;
      case ContentType.Alert:
        this.handleAlert(plaintext);
        return;
      case ContentType.ApplicationData:
        if (this.state !== 'established' || record.epoch === 0) {
          this.options.stats.droppedRecords++;
          return;
        }
        this.onApplicationDataReceived();
        this.host.onApplicationData(this, plaintext);
        return;
      default:
        this.options.stats.droppedRecords++;
    }
  }

  private countDrop(reason: DropReason): void {
    const stats = this.options.stats;
    if (reason === 'replay') stats.replayedRecords++;
    else if (reason === 'unauthenticated') stats.unauthenticatedRecords++;
    else stats.droppedRecords++;
  }

  /**
   * A protected record that failed authentication. Silently dropped (RFC 6347
   * §4.1.2.7), except for a handshake record while the handshake is still
   * running: that is the peer's Finished under keys that differ from ours (a
   * wrong PSK), and RFC 6347 allows answering with a fatal bad_record_mac, which
   * ends the handshake at once instead of after its timeout.
   */
  private onUnauthenticatedRecord(record: DtlsRecord): void {
    if (this.state === 'handshaking' && record.type === ContentType.Handshake) {
      throw new DtlsError(AlertDescription.BadRecordMac, `handshake record from ${this.label} did not authenticate (wrong PSK?)`);
    }
  }

  private handleHandshakeRecord(plaintext: Buffer): void {
    let fragments;
    try {
      fragments = parseHandshakeFragments(plaintext);
    } catch {
      this.options.stats.droppedRecords++;
      return;
    }
    for (const fragment of fragments) {
      if (this.reassembler.add(fragment) === 'old') this.retransmitWanted = true;
    }
    for (let message = this.reassembler.take(); message; message = this.reassembler.take()) {
      if (this.state === 'closed') return;
      if (this.state === 'established') this.onHandshakeAfterEstablished(message);
      else this.onHandshakeMessage(message);
    }
  }

  private noticeOldHandshake(plaintext: Buffer): void {
    try {
      for (const fragment of parseHandshakeFragments(plaintext)) {
        if (fragment.messageSeq < this.reassembler.nextSeq) this.retransmitWanted = true;
      }
    } catch {
      this.options.stats.droppedRecords++;
    }
  }

  private handleChangeCipherSpec(plaintext: Buffer): void {
    if (plaintext.length !== 1 || plaintext[0] !== 1) {
      throw new DtlsError(AlertDescription.DecodeError, 'malformed ChangeCipherSpec');
    }
    if (!this.records.hasPendingRead) {
      // Early (its key exchange message is still missing) or a duplicate: the peer will send it again.
      this.options.stats.droppedRecords++;
      return;
    }
    this.records.activatePendingRead();
    this.reassembler.clearPending();
  }

  private handleAlert(plaintext: Buffer): void {
    if (plaintext.length !== 2) {
      this.options.stats.droppedRecords++;
      return;
    }
    this.options.stats.alertsReceived++;
    const [level, description] = [plaintext[0]!, plaintext[1]!];
    if (description === AlertDescription.CloseNotify) {
      // Answer in kind (RFC 5246 §7.2.1), then forget the connection.
      if (this.state === 'established') this.sendAlert(AlertLevel.Warning, AlertDescription.CloseNotify);
      this.shutdown(new DtlsAlertReceived(description, false));
    } else if (level === AlertLevel.Fatal) {
      this.shutdown(new DtlsAlertReceived(description, true));
    } else {
      this.options.logger('debug', `${this.label}: warning alert ${alertName(description)} ignored`);
    }
  }

  // ----------------------------------------------------------------------
  // Role hooks
  // ----------------------------------------------------------------------

  /** Starts the handshake (the first flight of the role). */
  abstract start(): void;

  /** The next complete handshake message, in message_seq order, while handshaking. */
  protected abstract onHandshakeMessage(message: HandshakeMessage): void;

  /** A new handshake message on an established connection: renegotiation, which we refuse. */
  protected onHandshakeAfterEstablished(message: HandshakeMessage): void {
    this.options.logger('debug', `${this.label}: handshake message ${message.type} after the handshake; renegotiation refused`);
    this.sendAlert(AlertLevel.Warning, AlertDescription.NoRenegotiation);
  }

  /** Application data arrived (the server uses it as proof that its last flight arrived). */
  protected onApplicationDataReceived(): void {}

  // ----------------------------------------------------------------------
  // Helpers for the roles
  // ----------------------------------------------------------------------

  /** Our next handshake message, added to the transcript. */
  protected nextMessage(type: number, body: Buffer): HandshakeMessage {
    const message = { type, messageSeq: this.nextSendSeq++, body };
    this.addToTranscript(message);
    return message;
  }

  protected addToTranscript(message: HandshakeMessage): void {
    this.transcript.update(encodeHandshake(message));
  }

  /** Starts the transcript over (the client after a HelloVerifyRequest, RFC 6347 §4.2.6). */
  protected resetTranscript(): void {
    this.transcript = createHash('sha256');
  }

  protected transcriptHash(): Buffer {
    return this.transcript.copy().digest();
  }

  /** Keys of the next read epoch, used when the peer's ChangeCipherSpec arrives. */
  protected setPendingRead(protection: RecordProtection): void {
    this.records.setPendingRead(protection);
  }

  /** Starts the next write epoch (right after our ChangeCipherSpec in a flight). Returns its number. */
  protected startWriteEpoch(protection: RecordProtection): number {
    return this.records.startWriteEpoch(protection);
  }

  /** Sequence number the next record of epoch 0 will carry (the server mirrors the client's ClientHello). */
  protected setInitialRecordSeq(seq: number): void {
    this.records.setEpochZeroSequence(seq);
  }

  protected get currentReadEpoch(): number {
    return this.records.currentReadEpoch;
  }

  /** Sends a flight; a non-final flight is retransmitted with back-off until the next flight replaces it. */
  protected sendFlight(items: FlightItem[], final: boolean): void {
    this.clearRetransmitTimer();
    this.flight = items;
    this.flightFinal = final;
    this.retransmitDelay = this.options.retransmitInitialMs;
    this.transmitFlight();
    if (!final) this.armRetransmitTimer();
  }

  /** The handshake is complete: stop its timers; the final flight is kept only if the peer may ask for it again. */
  protected finishHandshake(keepFinalFlight: boolean): void {
    this.clearRetransmitTimer();
    if (!keepFinalFlight) this.flight = null;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.state = 'established';
    this.lastActivity = Date.now();
    this.options.stats.handshakesCompleted++;
    this.host.onEstablished(this);
  }

  /** Forgets the final flight (the peer proved it has it). */
  protected dropFinalFlight(): void {
    if (this.flightFinal) this.flight = null;
  }

  // ----------------------------------------------------------------------
  // Output
  // ----------------------------------------------------------------------

  /** Encrypts one application datagram for the peer. False when the connection cannot carry it. */
  sendApplicationData(data: Buffer): boolean {
    if (this.state !== 'established') return false;
    if (data.length > MAX_PLAINTEXT_LENGTH) {
      this.options.logger('warn', `${this.label}: ${data.length} bytes exceed one DTLS record; not sent`);
      return false;
    }
    try {
      this.host.sendDatagram(this, this.records.seal(ContentType.ApplicationData, this.records.currentWriteEpoch, data));
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  /** Orderly close: close_notify to the peer (when established), then forget the connection. */
  close(): void {
    if (this.state === 'closed') return;
    if (this.state === 'established') this.sendAlert(AlertLevel.Warning, AlertDescription.CloseNotify);
    this.shutdown(undefined);
  }

  /** Drops the connection without a word (replaced by a newer handshake from the same address). */
  discard(): void {
    this.shutdown(undefined);
  }

  /** Ends the connection because of an error; a DtlsError of ours is reported to the peer with its alert. */
  protected fail(err: unknown, sendAlert = true): void {
    if (this.state === 'closed') return;
    const error = err instanceof Error ? err : new Error(String(err));
    if (sendAlert && !(error instanceof DtlsAlertReceived)) {
      this.sendAlert(AlertLevel.Fatal, error instanceof DtlsError ? error.alert : AlertDescription.InternalError);
    }
    if (!(error instanceof DtlsError)) this.options.logger('error', `${this.label}: internal DTLS error`, error);
    this.shutdown(error);
  }

  private shutdown(reason: Error | undefined): void {
    if (this.state === 'closed') return;
    if (this.state === 'handshaking') this.options.stats.handshakesFailed++;
    this.state = 'closed';
    this.clearRetransmitTimer();
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.flight = null;
    this.host.onClosed(this, reason);
  }

  protected sendAlert(level: number, description: number): void {
    try {
      this.options.stats.alertsSent++;
      this.host.sendDatagram(this, this.records.seal(ContentType.Alert, this.records.currentWriteEpoch, Buffer.from([level, description])));
    } catch (err) {
      this.options.logger('debug', `${this.label}: alert not sent: ${(err as Error).message}`);
    }
  }

  /** Serializes the current flight into as few datagrams as the MTU allows, fragmenting large messages. */
  private transmitFlight(): void {
    const flight = this.flight;
    if (!flight) return;
    const mtu = this.options.mtu;
    const datagrams: Buffer[] = [];
    let current: Buffer[] = [];
    let size = 0;
    const push = (record: Buffer): void => {
      if (current.length > 0 && size + record.length > mtu) {
        datagrams.push(Buffer.concat(current));
        current = [];
        size = 0;
      }
      current.push(record);
      size += record.length;
    };
    for (const item of flight) {
      if (item.kind === 'ccs') {
        push(this.records.seal(ContentType.ChangeCipherSpec, item.epoch, Buffer.from([1])));
        continue;
      }
      const maxFragment = Math.max(16, mtu - RECORD_HEADER_LENGTH - HANDSHAKE_HEADER_LENGTH - this.records.overhead(item.epoch));
      for (const piece of fragmentHandshake(item.message, maxFragment)) push(this.records.seal(ContentType.Handshake, item.epoch, piece));
    }
    if (current.length > 0) datagrams.push(Buffer.concat(current));
    this.flightSentAt = Date.now();
    for (const datagram of datagrams) this.host.sendDatagram(this, datagram);
  }

  private armRetransmitTimer(): void {
    this.retransmitTimer = setTimeout(() => {
      this.retransmitTimer = null;
      if (this.state === 'closed' || !this.flight) return;
      this.options.stats.retransmissions++;
      try {
        this.transmitFlight();
      } catch (err) {
        this.fail(err);
        return;
      }
      this.retransmitDelay = Math.min(this.retransmitDelay * 2, this.options.retransmitMaxMs);
      this.armRetransmitTimer();
    }, this.retransmitDelay);
    this.retransmitTimer.unref();
  }

  private clearRetransmitTimer(): void {
    if (this.retransmitTimer) clearTimeout(this.retransmitTimer);
    this.retransmitTimer = null;
  }

  /** The peer repeated its previous flight: ours was lost. Not more often than a quarter of the initial timeout. */
  private retransmitOnRequest(): void {
    if (!this.flight) return;
    if (Date.now() - this.flightSentAt < this.options.retransmitInitialMs / 4) return;
    if (this.state === 'established' && !this.flightFinal) return;
    this.options.stats.retransmissions++;
    this.transmitFlight();
  }
}
