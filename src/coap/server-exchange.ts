/**
 * Server role of one incoming request: what the handler sees
 * (IncomingRequest) plus the timer that turns a slow answer into a separate
 * response (an empty ACK first, the response later as its own CON), and the
 * transmission of such CON responses and CON notifications.
 */
import { TimerTask } from './timer-wheel.js';
import { Transmission, type TransmissionHost } from './transmission.js';
import { methodOf, type CoapMessage, type CoapMethod, type CoapOption, type MessageType } from './packet.js';
import { decodeUint, OptionNumber } from './options.js';
import { decodeBlock, type BlockOption } from './block.js';
import type { DedupEntry } from './dedup-cache.js';
import type { IncomingRequest } from './api.js';
import type { ObserverHandle } from './observer.js';
import type { PeerState } from './peer-state.js';
import type { Peer } from './transport.js';

export interface ServerHost {
  /** The separate-response delay passed (or a duplicate arrived): send the empty ACK now. */
  goSeparate(sx: ServerExchange): void;
  acceptObservation(sx: ServerExchange): ObserverHandle;
}

const NO_STRINGS: readonly string[] = Object.freeze([]);

export class ServerExchange extends TimerTask implements IncomingRequest {
  readonly host: ServerHost;
  readonly ps: PeerState;
  readonly peer: Peer;
  readonly type: MessageType;
  readonly code: string;
  readonly messageId: number;
  readonly token: Buffer;
  readonly options: readonly CoapOption[];
  readonly dedup: DedupEntry<ServerExchange>;
  method: CoapMethod = 'GET';
  path: readonly string[] = NO_STRINGS;
  query: readonly string[] = NO_STRINGS;
  payload: Buffer;
  contentFormat: number | undefined = undefined;
  accept: number | undefined = undefined;
  observe: number | undefined = undefined;
  block1: BlockOption | undefined = undefined;
  block2: BlockOption | undefined = undefined;
  /** The observer created by acceptObservation(), registered when the response is a 2.xx. */
  observer: ObserverHandle | null = null;
  /** 'pending': handler running, ACK not sent; 'separate': empty ACK sent; 'done': answered. */
  state: 'new' | 'pending' | 'separate' | 'done' = 'new';

  constructor(host: ServerHost, ps: PeerState, peer: Peer, msg: CoapMessage, dedup: DedupEntry<ServerExchange>) {
    super();
    this.host = host;
    this.ps = ps;
    this.peer = peer;
    this.type = msg.type;
    this.code = msg.code;
    this.messageId = msg.messageId;
    this.token = msg.token;
    this.options = msg.options;
    this.payload = msg.payload;
    this.dedup = dedup;
  }

  get confirmable(): boolean {
    return this.type === 'CON';
  }

  /**
   * Reads the options the endpoint and handlers rely on, in one pass.
   * Returns false for an unknown method; throws CoapFormatError for an option
   * value that does not decode (answered with 4.02).
   */
  decodeOptions(): boolean {
    const method = methodOf(this.code);
    if (method === undefined) return false;
    this.method = method;
    const o = this.options;
    let path: string[] | undefined;
    let query: string[] | undefined;
    for (let i = 0; i < o.length; i++) {
      const { number, value } = o[i]!;
      switch (number) {
        case OptionNumber.UriPath:
          (path ??= []).push(value.toString('utf8'));
          break;
        case OptionNumber.UriQuery:
          (query ??= []).push(value.toString('utf8'));
          break;
        case OptionNumber.ContentFormat:
          if (this.contentFormat === undefined) this.contentFormat = decodeUint(value, 2, 'Content-Format');
          break;
        case OptionNumber.Accept:
          if (this.accept === undefined) this.accept = decodeUint(value, 2, 'Accept');
          break;
        case OptionNumber.Observe:
          if (this.observe === undefined) this.observe = decodeUint(value, 3, 'Observe');
          break;
        case OptionNumber.Block1:
          if (this.block1 === undefined) this.block1 = decodeBlock(value);
          break;
        case OptionNumber.Block2:
          if (this.block2 === undefined) this.block2 = decodeBlock(value);
          break;
      }
    }
    if (path !== undefined) this.path = path;
    if (query !== undefined) this.query = query;
    return true;
  }

  acceptObservation(): ObserverHandle {
    return this.host.acceptObservation(this);
  }

  override onTimer(): void {
    this.host.goSeparate(this);
  }
}

/** Who hears how a CON response/notification ended. */
export interface ResponseOwner {
  onDelivered(t: ResponseTransmission): void;
  onRejected(t: ResponseTransmission): void;
  onLost(t: ResponseTransmission): void;
  /** We stopped retransmitting ourselves (superseded by a newer notification, observer gone, endpoint closed). */
  onAbandoned(t: ResponseTransmission): void;
}

/** A CON we send as a server: a separate response or a notification. */
export class ResponseTransmission extends Transmission {
  owner: ResponseOwner | null;

  constructor(host: TransmissionHost, ps: PeerState, datagram: Buffer, messageId: number, owner: ResponseOwner | null) {
    super(host, ps);
    this.datagram = datagram;
    this.messageId = messageId;
    this.owner = owner;
  }

  send(now: number): void {
    this.transmitFirst(true, now);
  }

  /** Stops retransmitting (superseded by a newer notification, observer gone, endpoint closed). */
  abandon(): void {
    const owner = this.owner;
    this.owner = null;
    this.stopTimers();
    owner?.onAbandoned(this);
  }

  override onAck(): void {
    this.stopTimers();
    this.owner?.onDelivered(this);
  }

  override onReset(): void {
    this.stopTimers();
    this.owner?.onRejected(this);
  }

  protected override onGiveUp(): void {
    this.host.stats.timeouts++;
    this.owner?.onLost(this);
  }

  protected override onDeadline(): void {
    this.onGiveUp();
  }
}
