/**
 * One outgoing message and its timers (RFC 7252 section 4.2): a CON is
 * retransmitted with exponential back-off until it is acknowledged, reset,
 * or MAX_RETRANSMIT is exhausted; any message may also carry a deadline.
 * Both timers share one entry in the endpoint's timer wheel.
 *
 * Subclasses: ClientExchange (our requests and pings) and
 * ResponseTransmission (separate CON responses and CON notifications).
 */
import { TimerTask, type TimerWheel } from './timer-wheel.js';
import { initialTimeout, type ResolvedParameters } from './params.js';
import { EMPTY_BUFFER, type CoapMessage } from './packet.js';
import type { PeerState } from './peer-state.js';
import type { Peer } from './transport.js';
import type { CoapStats } from './stats.js';

/** What a transmission needs from its endpoint. */
export interface TransmissionHost {
  readonly wheel: TimerWheel;
  readonly params: ResolvedParameters;
  readonly stats: CoapStats;
  /** Sends one datagram to a peer (and counts it). */
  transmit(datagram: Buffer, peer: Peer): void;
}

export abstract class Transmission extends TimerTask {
  readonly host: TransmissionHost;
  readonly ps: PeerState;
  messageId = -1;
  datagram: Buffer = EMPTY_BUFFER;
  /** Waiting for an ACK/RST: retransmitting. */
  awaitingAck = false;
  retransmissions = 0;
  /** Current retransmission timeout (doubles after each retransmission). */
  private rto = 0;
  /** When the next retransmission (or, after the last one, giving up) is due. */
  private retransmitAt = Infinity;
  /** Absolute deadline (ms, wheel clock); Infinity for none. */
  deadline = Infinity;

  constructor(host: TransmissionHost, ps: PeerState) {
    super();
    this.host = host;
    this.ps = ps;
  }

  /** Sends `datagram` (already encoded with `messageId`) and arms the timers. */
  protected transmitFirst(confirmable: boolean, now: number): void {
    this.host.transmit(this.datagram, this.ps.peer);
    if (confirmable) {
      this.awaitingAck = true;
      this.ps.outgoing.set(this.messageId, this);
      this.rto = initialTimeout(this.host.params);
      this.retransmitAt = now + this.rto;
    }
    this.arm();
  }

  /** Schedules the wheel entry for the earlier of the retransmission and the deadline. */
  protected arm(): void {
    const due = this.awaitingAck ? Math.min(this.retransmitAt, this.deadline) : this.deadline;
    if (due === Infinity) this.host.wheel.cancel(this);
    else this.host.wheel.scheduleAt(this, due);
  }

  override onTimer(now: number): void {
    if (now >= this.deadline) {
      this.stopAwaitingAck();
      this.onDeadline();
      return;
    }
    if (this.awaitingAck && now >= this.retransmitAt) {
      if (this.retransmissions >= this.host.params.maxRetransmit) {
        this.stopAwaitingAck();
        this.onGiveUp();
        return;
      }
      this.retransmissions++;
      this.host.stats.retransmissions++;
      this.host.transmit(this.datagram, this.ps.peer);
      this.rto *= 2;
      this.retransmitAt = now + this.rto;
    }
    this.arm();
  }

  /** Stops retransmitting and forgets the message id (ACK, RST or an implied ACK arrived). */
  protected stopAwaitingAck(): void {
    if (!this.awaitingAck) return;
    this.awaitingAck = false;
    if (this.ps.outgoing.get(this.messageId) === this) this.ps.outgoing.delete(this.messageId);
  }

  /** Cancels every timer and forgets the message id. */
  protected stopTimers(): void {
    this.host.wheel.cancel(this);
    this.stopAwaitingAck();
  }

  /** An ACK for our message id: empty (code "0.00") or carrying a piggybacked response. */
  abstract onAck(msg: CoapMessage, peer: Peer): void;
  /** An RST for our message id. */
  abstract onReset(): void;
  /** MAX_RETRANSMIT retransmissions went unanswered. */
  protected abstract onGiveUp(): void;
  /** The deadline passed. */
  protected abstract onDeadline(): void;
}
