/**
 * One request of ours (or a CoAP ping) from the first transmission to its
 * response: message id and token, retransmission of a CON, the deadline,
 * the NSTART slot, and — for an observe request — staying registered under
 * its token after the first response.
 */
import { Transmission, type TransmissionHost } from './transmission.js';
import { EMPTY_BUFFER, encodeEmpty, type CoapMessage } from './packet.js';
import { CoapResetError, CoapTimeoutError } from './errors.js';
import { OptionNumber } from './options.js';
import type { CoapResponse } from './api.js';
import type { RequestTemplate } from './blockwise-client.js';
import type { PeerState } from './peer-state.js';
import type { Peer } from './transport.js';

export interface ClientHost extends TransmissionHost {
  /** NSTART (Infinity when unlimited). */
  readonly nstart: number;
  registerToken(ex: ClientExchange): void;
  unregisterToken(ex: ClientExchange): void;
  /** A request freed its NSTART slot: start queued ones. */
  releaseSlot(ps: PeerState): void;
  /** The response is the first block of several: fetch the rest (Block2) and resolve with the whole. */
  fetchRest(ex: ClientExchange, first: CoapResponse): Promise<CoapResponse>;
}

/** Receives what arrives for an observe request. */
export interface ObservationSink {
  /** The first response; true keeps the token registered for notifications. */
  onFirstResponse(res: CoapResponse): boolean;
  onNotification(res: CoapResponse): void;
}

type State = 'new' | 'queued' | 'sent' | 'observing' | 'done';

export function toResponse(msg: CoapMessage, peer: Peer): CoapResponse {
  return {
    type: msg.type,
    code: msg.code,
    messageId: msg.messageId,
    token: msg.token,
    options: msg.options,
    payload: msg.payload,
    peer,
  };
}

/** Whether a Block2 option with the M bit set is present (cheap check before decoding anything). */
function hasMoreBlocks(res: CoapResponse): boolean {
  const options = res.options;
  for (let i = 0; i < options.length; i++) {
    const o = options[i]!;
    if (o.number === OptionNumber.Block2) {
      const v = o.value;
      return v.length > 0 && (v[v.length - 1]! & 0x08) !== 0;
    }
  }
  return false;
}

export class ClientExchange extends Transmission {
  declare readonly host: ClientHost;
  readonly token: Buffer;
  /** The token as a Map key. */
  readonly tokenKey: string;
  readonly confirmable: boolean;
  readonly isPing: boolean;
  readonly timeoutMs: number;
  readonly observation: ObservationSink | null;
  /** The request, kept to fetch later blocks of a block-wise response (null: return the first block as is). */
  readonly template: RequestTemplate | null;
  readonly maxBodySize: number;
  readonly promise: Promise<CoapResponse>;
  /** When the request was first sent (ms, wheel clock); pings report their round trip from it. */
  sentAt = 0;
  state: State = 'new';
  private holdsSlot = false;
  private resolve!: (res: CoapResponse | Promise<CoapResponse>) => void;
  private reject!: (err: Error) => void;

  /**
   * `datagram` is the encoded request with message id 0; the real id is
   * written into bytes 2-3 when the request leaves the NSTART queue.
   */
  constructor(
    host: ClientHost,
    ps: PeerState,
    datagram: Buffer,
    token: Buffer,
    options: {
      confirmable: boolean;
      timeoutMs: number;
      isPing?: boolean;
      observation?: ObservationSink | null;
      template?: RequestTemplate | null;
      maxBodySize?: number;
    },
  ) {
    super(host, ps);
    this.datagram = datagram;
    this.token = token;
    this.tokenKey = token.toString('latin1');
    this.confirmable = options.confirmable;
    this.timeoutMs = options.timeoutMs;
    this.isPing = options.isPing ?? false;
    this.observation = options.observation ?? null;
    this.template = options.template ?? null;
    this.maxBodySize = options.maxBodySize ?? 0;
    this.promise = new Promise<CoapResponse>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Sends now, or queues behind NSTART; the deadline starts counting either way. */
  start(now: number): void {
    this.deadline = now + this.timeoutMs;
    if (!this.isPing && this.ps.active >= this.host.nstart) {
      this.state = 'queued';
      this.ps.queue.push(this);
      this.arm();
      return;
    }
    this.launch(now);
  }

  /** Takes an NSTART slot, picks the message id and transmits. */
  launch(now: number): void {
    if (!this.isPing) {
      this.holdsSlot = true;
      this.ps.active++;
      this.host.registerToken(this);
    }
    this.messageId = this.ps.nextMessageId();
    if (this.isPing) this.datagram = encodeEmpty('CON', this.messageId);
    else {
      this.datagram[2] = this.messageId >> 8;
      this.datagram[3] = this.messageId & 0xff;
    }
    this.state = 'sent';
    this.sentAt = now;
    this.transmitFirst(this.confirmable, now);
  }

  override onAck(msg: CoapMessage, peer: Peer): void {
    if (this.state !== 'sent') return;
    if (msg.code === '0.00') {
      if (this.isPing) {
        this.complete(toResponse(msg, peer));
        return;
      }
      // Separate response to follow: stop retransmitting, keep the deadline.
      this.stopAwaitingAck();
      this.releaseSlot();
      this.arm();
      return;
    }
    // A piggybacked response must echo our token; otherwise it answers something else.
    if (!msg.token.equals(this.token)) return;
    this.onResponse(msg, peer);
  }

  /** A response matched by token (piggybacked in an ACK, or a separate CON/NON response). */
  onResponse(msg: CoapMessage, peer: Peer): void {
    if (this.state === 'observing') {
      this.observation!.onNotification(toResponse(msg, peer));
      return;
    }
    if (this.state !== 'sent') return;
    this.stopAwaitingAck(); // a response implies the ACK
    this.releaseSlot();
    const res = toResponse(msg, peer);
    if (this.observation !== null && this.observation.onFirstResponse(res)) {
      this.state = 'observing';
      this.deadline = Infinity;
      this.host.wheel.cancel(this);
      this.resolve(this.whole(res));
      return;
    }
    this.complete(res);
  }

  /** The response, or a promise of the whole body when it is the first of several blocks. */
  private whole(res: CoapResponse): CoapResponse | Promise<CoapResponse> {
    return this.template !== null && hasMoreBlocks(res) ? this.host.fetchRest(this, res) : res;
  }

  override onReset(): void {
    if (this.state !== 'sent') return;
    if (this.isPing) {
      // The expected answer to a ping.
      this.complete(toResponse({ type: 'RST', code: '0.00', messageId: this.messageId, token: this.token, options: [], payload: EMPTY_BUFFER }, this.ps.peer));
      return;
    }
    this.fail(new CoapResetError(`${this.ps.key} rejected the request with RST`));
  }

  protected override onGiveUp(): void {
    this.host.stats.timeouts++;
    this.fail(new CoapTimeoutError(`no ACK from ${this.ps.key} after ${this.retransmissions} retransmissions`));
  }

  protected override onDeadline(): void {
    this.host.stats.timeouts++;
    this.fail(new CoapTimeoutError(`no response from ${this.ps.key} within ${this.timeoutMs} ms`));
  }

  /**
   * Takes up an observation registered before a restart: nothing is sent,
   * the token is registered so that the peer's notifications are recognised.
   */
  resumeObserving(): void {
    this.state = 'observing';
    this.deadline = Infinity;
    this.host.registerToken(this);
  }

  /** Ends an observation on our side: the token is forgotten, notifications get RST. */
  stopObserving(): void {
    if (this.state !== 'observing') return;
    this.state = 'done';
    this.stopTimers();
    this.host.unregisterToken(this);
  }

  /** Fails the exchange (timeout, reset, endpoint closed). */
  fail(err: Error): void {
    if (this.state === 'done') return;
    if (this.state === 'queued') {
      const i = this.ps.queue.indexOf(this);
      if (i >= 0) this.ps.queue.splice(i, 1);
    }
    const wasObserving = this.state === 'observing';
    this.state = 'done';
    this.stopTimers();
    this.releaseSlot();
    this.host.unregisterToken(this);
    if (!wasObserving) this.reject(err);
  }

  private complete(res: CoapResponse): void {
    this.state = 'done';
    this.stopTimers();
    this.releaseSlot();
    if (!this.isPing) this.host.unregisterToken(this);
    this.resolve(this.whole(res));
  }

  private releaseSlot(): void {
    if (!this.holdsSlot) return;
    this.holdsSlot = false;
    this.ps.active--;
    this.host.releaseSlot(this.ps);
  }
}
