/**
 * CoapEndpoint: one transport (one UDP socket, or later one DTLS session
 * table) that both serves and requests — the server and client roles of
 * RFC 7252 on the same port, with Observe (RFC 7641) and block-wise
 * transfers (RFC 7959) in both roles.
 *
 * How an incoming datagram travels:
 *   transport → onDatagram → parseMessage (malformed: counted, dropped, CON gets RST)
 *     empty CON           → ping: answered with RST
 *     ACK / RST           → the Transmission waiting under that message id
 *     request (0.xx)      → duplicate cache → ServerExchange → handler → respond()
 *     CON/NON response    → duplicate cache → the ClientExchange under that token
 *                           (unknown token: RST)
 *
 * Timers (retransmissions, deadlines, separate-response delays) live in
 * one TimerWheel; caches (duplicates, block-wise state, peers) are bounded
 * and swept by one interval timer.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { Lwm2mError } from '../errors.js';
import type { CoapRequest, CoapResponse, OutgoingNotification, OutgoingResponse, RequestHandler } from './api.js';
import { blockSize, setBlock1, setBlock2, szxForSize, type BlockOption } from './block.js';
import { Block1Assembler } from './block1-assembler.js';
import { Block2Cache, type Representation } from './block2-cache.js';
import { fetchRemainingBlocks, followUpTemplate, sendWithBlock1, type RequestTemplate } from './blockwise-client.js';
import { ClientExchange, type ClientHost } from './client-exchange.js';
import { DedupCache } from './dedup-cache.js';
import { CoapClosedError, CoapConfigError, CoapFormatError, CoapMessageError } from './errors.js';
import { Observation, type ObservationHost } from './observation.js';
import { ObserverHandle, type ObserverEndReason } from './observer.js';
import {
  getSize1,
  hasOption,
  OptionNumber,
  queryStrings,
  setAccept,
  setContentFormat,
  setETag,
  setLocationPath,
  setMaxAge,
  setObserve,
  setSize1,
  setSize2,
  setUriPath,
  setUriQuery,
  splitPath,
  unknownCriticalOption,
} from './options.js';
import {
  EMPTY_BUFFER,
  encodeEmpty,
  encodeMessage,
  isResponseCode,
  isSuccessCode,
  MAX_TOKEN_LENGTH,
  parseMessage,
  toRequestCode,
  type CoapMessage,
  type CoapOption,
} from './packet.js';
import { resolveParameters, type ResolvedParameters, type TransmissionParameters } from './params.js';
import { PeerState } from './peer-state.js';
import { ResponseTransmission, ServerExchange, type ResponseOwner, type ServerHost } from './server-exchange.js';
import { newStats, type CoapStats } from './stats.js';
import { TimerWheel } from './timer-wheel.js';
import { silentLogger, type Logger, type Peer, type Transport, type TransportAddress } from './transport.js';
import { UdpTransport, type UdpTransportOptions } from './udp-transport.js';

export interface CoapEndpointOptions {
  transport: Transport;
  /** RFC 7252 transmission parameters (ACK_TIMEOUT, ...). */
  parameters?: Partial<TransmissionParameters>;
  /** Default deadline of each of our request exchanges (ms, default 5000). */
  requestTimeoutMs?: number;
  /** A handler slower than this gets an empty ACK first and a separate response (ms; default ACK_TIMEOUT / 2). */
  separateResponseDelayMs?: number;
  /** Length of our random tokens (1..8 bytes, default 8). */
  tokenLength?: number;
  /** Preferred block size for Block1/Block2, 16..1024 (default 1024). Larger payloads go block-wise. */
  blockSize?: number;
  /** Largest body reassembled from blocks, in either role (bytes, default 8 MiB). */
  maxBodySize?: number;
  /** Bounds of the duplicate cache. */
  dedup?: { perPeer?: number; maxEntries?: number; maxBytes?: number };
  /** Bounds of the server's block-wise state, each for Block1 transfers and Block2 representations (default 1000 entries, 32 MiB, 60 s idle). */
  blockState?: { maxEntries?: number; maxBytes?: number; idleMs?: number };
  /** Observers of our resources over all peers (default 10 000). */
  maxObservers?: number;
  /** Peer states kept (default 100 000); idle ones are dropped first when over. */
  maxPeers?: number;
  /** Timer wheel resolution (ms; default ACK_TIMEOUT / 20, clamped to 2..50). */
  tickMs?: number;
  /** Interval of the cache sweep (ms, default 10 s). */
  sweepIntervalMs?: number;
  logger?: Logger;
}

export type UdpEndpointOptions = Omit<CoapEndpointOptions, 'transport'> & UdpTransportOptions;

/** Sizes of the endpoint's bounded state, for tests and monitoring. */
export interface EndpointState {
  peers: number;
  dedupEntries: number;
  dedupBytes: number;
  pendingRequests: number;
  block1Transfers: number;
  block2Representations: number;
  observers: number;
  timers: number;
}

const TOKEN_POOL_SIZE = 4096;
const MAX_MALFORMED_LOG_KEYS = 1024;
const MALFORMED_LOG_PERIOD_MS = 3600_000;
const MAX_DIAGNOSTIC_LENGTH = 200;

export class CoapEndpoint implements ClientHost, ServerHost, ObservationHost {
  readonly stats: CoapStats = newStats();
  readonly params: ResolvedParameters;
  readonly wheel: TimerWheel;
  readonly logger: Logger;
  readonly nstart: number;
  private readonly transport: Transport;
  private readonly requestTimeoutMs: number;
  private readonly separateDelayMs: number;
  private readonly tokenLength: number;
  private readonly szx: number;
  private readonly maxBodySize: number;
  private readonly maxObservers: number;
  private readonly maxPeers: number;
  private readonly peers = new Map<string, PeerState>();
  private readonly dedup: DedupCache<ServerExchange>;
  private readonly tokens = new Map<string, ClientExchange>();
  private readonly observers = new Map<string, ObserverHandle>();
  private readonly block1: Block1Assembler;
  private readonly block2: Block2Cache;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly malformedLogged = new Set<string>();
  private malformedLogClearedAt = 0;
  private readonly tokenPool = Buffer.allocUnsafe(TOKEN_POOL_SIZE);
  private tokenPoolPos = TOKEN_POOL_SIZE;
  private handler: RequestHandler | null = null;
  private closing: Promise<void> | null = null;

  /** An endpoint on a new UDP socket. */
  static async udp(options: UdpEndpointOptions = {}): Promise<CoapEndpoint> {
    const transport = await UdpTransport.bind(options);
    try {
      return new CoapEndpoint({ ...options, transport });
    } catch (err) {
      await transport.close(); // bad options: do not leak the socket
      throw err;
    }
  }

  constructor(options: CoapEndpointOptions) {
    this.transport = options.transport;
    this.logger = options.logger ?? silentLogger;
    this.params = resolveParameters(options.parameters);
    this.nstart = this.params.nstart;
    this.requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs ?? 5000);
    this.separateDelayMs = options.separateResponseDelayMs ?? this.params.ackTimeoutMs / 2;
    const tokenLength = options.tokenLength ?? 8;
    if (!(Number.isInteger(tokenLength) && tokenLength >= 1 && tokenLength <= MAX_TOKEN_LENGTH)) {
      throw new CoapConfigError(`tokenLength must be 1..8 (got ${tokenLength})`);
    }
    this.tokenLength = tokenLength;
    this.szx = szxForSize(options.blockSize ?? 1024);
    this.maxBodySize = positive('maxBodySize', options.maxBodySize ?? 8 * 1024 * 1024);
    this.maxObservers = options.maxObservers ?? 10_000;
    this.maxPeers = options.maxPeers ?? 100_000;
    const tickMs = options.tickMs ?? Math.min(50, Math.max(2, Math.round(this.params.ackTimeoutMs / 20)));
    this.wheel = new TimerWheel({ tickMs, onError: (err) => this.logger('error', 'CoAP timer task failed', err) });
    this.dedup = new DedupCache<ServerExchange>({ ...options.dedup, lifetimeMs: this.params.exchangeLifetimeMs });
    const bs = options.blockState ?? {};
    const blockLimits = { maxEntries: bs.maxEntries ?? 1000, maxBytes: bs.maxBytes ?? 32 * 1024 * 1024, idleMs: bs.idleMs ?? 60_000 };
    this.block1 = new Block1Assembler({ maxBodySize: this.maxBodySize, maxTransfers: blockLimits.maxEntries, maxBytes: blockLimits.maxBytes, idleMs: blockLimits.idleMs });
    this.block2 = new Block2Cache(blockLimits);
    this.sweepTimer = setInterval(() => this.sweep(), positive('sweepIntervalMs', options.sweepIntervalMs ?? 10_000));
    this.sweepTimer.unref();
    this.transport.setHandler(this.onDatagram);
  }

  // ======================================================================
  // Public API
  // ======================================================================

  address(): TransportAddress {
    return this.transport.address();
  }

  /** Installs the handler of incoming requests (without one, requests get 4.04). */
  onRequest(handler: RequestHandler): void {
    this.handler = handler;
  }

  /** Sizes of the bounded state. */
  get state(): EndpointState {
    return {
      peers: this.peers.size,
      dedupEntries: this.dedup.size,
      dedupBytes: this.dedup.bytes,
      pendingRequests: this.tokens.size,
      block1Transfers: this.block1.size,
      block2Representations: this.block2.size,
      observers: this.observers.size,
      timers: this.wheel.size,
    };
  }

  /**
   * Sends a request and resolves with the response, whatever its code.
   * Bodies larger than the block size go out with Block1; a response that
   * comes block-wise is fetched whole. Rejects with CoapTimeoutError (5.04),
   * CoapResetError, CoapBlockError, CoapMessageError or CoapClosedError.
   */
  request(peer: Peer, req: CoapRequest): Promise<CoapResponse> {
    let t: RequestTemplate;
    try {
      t = this.template(req);
    } catch (err) {
      return Promise.reject(err);
    }
    const szx = req.blockSize !== undefined ? szxForSize(req.blockSize) : this.szx;
    const maxBodySize = req.maxBodySize ?? this.maxBodySize;
    if (t.payload.length > blockSize(szx)) {
      t.token = req.token ?? this.newToken();
      return sendWithBlock1((x) => this.sendOnce(peer, x, undefined, null, maxBodySize), t, szx);
    }
    // Early negotiation: ask for blocks of the given size from the start.
    if (req.blockSize !== undefined && (t.code === '0.01' || t.code === '0.05')) setBlock2(t.options, { num: 0, more: false, szx });
    return this.sendOnce(peer, t, req.token, null, maxBodySize);
  }

  /**
   * Starts observing a resource (GET, or FETCH, with Observe=0). Attach the
   * 'notification' and 'end' listeners right away, then await `ready` for
   * the first response. `active` tells whether the peer accepted the
   * observation.
   */
  observe(peer: Peer, req: CoapRequest): Observation {
    const t = this.template({ ...req, observe: 0 });
    const path = req.path === undefined ? [] : typeof req.path === 'string' ? splitPath(req.path) : [...req.path];
    const obs = new Observation(this, peer, path, () => this.wheel.now());
    obs.token = req.token ?? this.newToken();
    const maxBodySize = req.maxBodySize ?? this.maxBodySize;
    observationRequests.set(obs, { peer, template: t, maxBodySize });
    obs.ready = this.sendOnce(peer, t, obs.token, obs, maxBodySize).then(
      (first) => {
        if (!obs.active) return first;
        if (this.tokens.get(obs.token.toString('latin1'))?.state !== 'observing') {
          obs.end({ reason: 'not-established', response: first });
        } else {
          obs.established();
        }
        return first;
      },
      (err: Error) => {
        obs.end({ reason: 'failed', error: err });
        throw err;
      },
    );
    obs.ready.catch(() => {}); // the caller may only listen to 'end'
    return obs;
  }

  /**
   * Takes up an observation made before a restart (token and request kept
   * by the caller): nothing is sent; notifications carrying `req.token` from
   * `peer` are accepted again, the first one whatever its sequence number.
   * `ready` resolves with that first notification. Cancel works as for
   * `observe()`.
   */
  resumeObservation(peer: Peer, req: CoapRequest & { token: Buffer }): Observation {
    if (this.closing) throw new CoapClosedError();
    const t = this.template({ ...req, observe: 0 });
    const path = req.path === undefined ? [] : typeof req.path === 'string' ? splitPath(req.path) : [...req.path];
    const obs = new Observation(this, peer, path, () => this.wheel.now());
    obs.token = req.token;
    const maxBodySize = req.maxBodySize ?? this.maxBodySize;
    observationRequests.set(obs, { peer, template: t, maxBodySize });
    const ps = this.peerState(peer, this.wheel.now());
    const ex = new ClientExchange(this, ps, EMPTY_BUFFER, req.token, { confirmable: t.confirmable, timeoutMs: t.timeoutMs, observation: obs, template: t, maxBodySize });
    obs.resume();
    ex.resumeObserving();
    return obs;
  }

  /** CoAP ping (empty CON, answered by RST). Resolves with the round trip in ms. */
  async ping(peer: Peer, timeoutMs?: number): Promise<number> {
    if (this.closing) throw new CoapClosedError();
    const now = this.wheel.now();
    const ps = this.peerState(peer, now);
    const ex = new ClientExchange(this, ps, EMPTY_BUFFER, EMPTY_BUFFER, { confirmable: true, timeoutMs: timeoutMs ?? this.requestTimeoutMs, isPing: true });
    ex.start(now);
    await ex.promise;
    return this.wheel.now() - ex.sentAt;
  }

  /**
   * Sends a notification to an observer: the response gets the next Observe
   * sequence number; an error code ends the observation. Resolves true when
   * a CON notification was acknowledged or a NON one sent; false when the
   * observer is gone or it answered RST, never acknowledged (the observer is
   * then removed), or a newer notification superseded this one.
   */
  notify(handle: ObserverHandle, notification: OutgoingNotification): Promise<boolean> {
    if (!handle.active || this.closing) return Promise.resolve(false);
    if (typeof notification.code !== 'string' || !isResponseCode(notification.code)) {
      return Promise.reject(new CoapMessageError(`a notification needs a response code, not ${String(notification.code)}`));
    }
    const now = this.wheel.now();
    const ps = this.peerState(handle.peer, now);
    const success = isSuccessCode(notification.code);
    const confirmable = notification.confirmable ?? now - handle.lastConAt > 24 * 3600_000;
    const mid = ps.nextMessageId();
    let datagram: Buffer;
    try {
      const options = this.responseOptions(notification);
      if (success) setObserve(options, handle.nextSequence());
      const payload = toBuffer(notification.payload);
      const msg: CoapMessage = { type: confirmable ? 'CON' : 'NON', code: notification.code, messageId: mid, token: handle.token, options, payload };
      if (success) this.applyBlock2(msg, undefined, handle.blockKey, notification.etag, now);
      datagram = encodeMessage(msg);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!success) this.removeObserver(handle, 'rejected'); // an error notification ends the observation
    else if (handle.inflight) handle.inflight.abandon(); // RFC 7641 4.5.2: the newer notification replaces it
    if (!confirmable) {
      this.transmit(datagram, ps.peer);
      handle.lastNonMid = mid;
      return Promise.resolve(true);
    }
    handle.lastConAt = now;
    return new Promise<boolean>((resolve) => {
      const t = new ResponseTransmission(this, ps, datagram, mid, new NotificationDelivery(this, handle, resolve));
      if (success) handle.inflight = t;
      t.send(now);
    });
  }

  /** Ends an observation from our side, silently (the peer's next request or notification sorts it out). */
  endObservation(handle: ObserverHandle): void {
    this.removeObserver(handle, 'ended');
  }

  /** Releases the socket and every timer; pending requests reject with CoapClosedError. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.sweepTimer);
    const err = new CoapClosedError();
    for (const ex of [...this.tokens.values()]) {
      const obs = ex.observation;
      if (obs instanceof Observation) obs.end({ reason: 'closed' });
      ex.fail(err);
    }
    for (const handle of [...this.observers.values()]) this.removeObserver(handle, 'closed');
    for (const ps of this.peers.values()) {
      for (const ex of [...ps.queue]) ex.fail(err);
      for (const t of [...ps.outgoing.values()]) {
        if (t instanceof ClientExchange) t.fail(err);
        else if (t instanceof ResponseTransmission) t.abandon();
      }
    }
    this.wheel.clear();
    this.tokens.clear();
    this.peers.clear();
    this.dedup.clear();
    this.block1.clear();
    this.block2.clear();
    await this.transport.close();
  }

  // ======================================================================
  // Client role
  // ======================================================================

  private template(req: CoapRequest): RequestTemplate {
    const code = toRequestCode(req.method ?? 'GET');
    const options: CoapOption[] = req.options ? req.options.slice() : [];
    if (req.path !== undefined) setUriPath(options, typeof req.path === 'string' ? splitPath(req.path) : req.path);
    if (req.query !== undefined) setUriQuery(options, queryStrings(req.query));
    if (req.contentFormat !== undefined) setContentFormat(options, req.contentFormat);
    if (req.accept !== undefined) setAccept(options, req.accept);
    if (req.observe !== undefined) setObserve(options, req.observe);
    const timeoutMs = req.timeoutMs ?? this.requestTimeoutMs;
    if (!(timeoutMs > 0)) throw new CoapMessageError(`timeoutMs must be > 0 (got ${timeoutMs})`);
    return { code, confirmable: req.confirmable !== false, options, payload: toBuffer(req.payload), timeoutMs };
  }

  /** One exchange: encode, take a message id and token, transmit, wait. */
  private sendOnce(peer: Peer, t: RequestTemplate, token: Buffer | undefined, obs: Observation | null, maxBodySize?: number): Promise<CoapResponse> {
    if (this.closing) return Promise.reject(new CoapClosedError());
    const now = this.wheel.now();
    const tok = token ?? t.token ?? this.newToken();
    let datagram: Buffer;
    try {
      datagram = encodeMessage({ type: t.confirmable ? 'CON' : 'NON', code: t.code, messageId: 0, token: tok, options: t.options, payload: t.payload });
    } catch (err) {
      return Promise.reject(err);
    }
    const ps = this.peerState(peer, now);
    const ex = new ClientExchange(this, ps, datagram, tok, {
      confirmable: t.confirmable,
      timeoutMs: t.timeoutMs,
      observation: obs,
      // With a size cap the exchange fetches the rest of a block-wise response itself.
      template: maxBodySize !== undefined ? t : null,
      maxBodySize,
    });
    ex.start(now);
    return ex.promise;
  }

  /** A random token not used by any outstanding request. */
  private newToken(): Buffer {
    for (;;) {
      if (this.tokenPoolPos + this.tokenLength > TOKEN_POOL_SIZE) {
        randomFillSync(this.tokenPool);
        this.tokenPoolPos = 0;
      }
      const token = Buffer.allocUnsafe(this.tokenLength);
      this.tokenPool.copy(token, 0, this.tokenPoolPos, this.tokenPoolPos + this.tokenLength);
      this.tokenPoolPos += this.tokenLength;
      if (!this.tokens.has(token.toString('latin1'))) return token;
    }
  }

  /** @internal ClientHost */
  registerToken(ex: ClientExchange): void {
    const previous = this.tokens.get(ex.tokenKey);
    if (previous !== undefined && previous !== ex) {
      this.logger('warn', `token ${ex.token.toString('hex')} reused while still outstanding; the older request will not get its response`);
    }
    this.tokens.set(ex.tokenKey, ex);
  }

  /** @internal ClientHost */
  unregisterToken(ex: ClientExchange): void {
    if (this.tokens.get(ex.tokenKey) === ex) this.tokens.delete(ex.tokenKey);
  }

  /** @internal ClientHost: start queued requests while NSTART allows. */
  releaseSlot(ps: PeerState): void {
    while (ps.queue.length > 0 && ps.active < this.nstart) {
      const next = ps.queue.shift()!;
      if (next.state === 'queued') next.launch(this.wheel.now());
    }
  }

  /** @internal ClientHost */
  fetchRest(ex: ClientExchange, first: CoapResponse): Promise<CoapResponse> {
    const peer = first.peer;
    const follow = followUpTemplate(ex.template!);
    // Same token for the whole transfer, except while an observation still owns it.
    follow.token = ex.state === 'observing' ? this.newToken() : ex.token;
    const send = (x: RequestTemplate): Promise<CoapResponse> => this.sendOnce(peer, x, undefined, null);
    return fetchRemainingBlocks(send, follow, first, ex.maxBodySize);
  }

  /** @internal ObservationHost */
  completeBlocks(obs: Observation, first: CoapResponse): Promise<CoapResponse> {
    const info = observationRequests.get(obs)!;
    const follow = followUpTemplate(info.template);
    follow.token = this.newToken(); // the observation keeps its own token
    const send = (x: RequestTemplate): Promise<CoapResponse> => this.sendOnce(info.peer, x, undefined, null);
    return fetchRemainingBlocks(send, follow, first, info.maxBodySize);
  }

  /** @internal ObservationHost */
  deregister(obs: Observation, timeoutMs?: number): Promise<CoapResponse> {
    const info = observationRequests.get(obs)!;
    const t = { ...info.template, options: info.template.options.slice() };
    setObserve(t.options, 1);
    if (timeoutMs !== undefined) t.timeoutMs = timeoutMs;
    return this.sendOnce(info.peer, t, obs.token, null);
  }

  /** @internal ObservationHost */
  forget(obs: Observation): void {
    const ex = this.tokens.get(obs.token.toString('latin1'));
    if (ex !== undefined && ex.observation === obs) ex.stopObserving();
  }

  // ======================================================================
  // Incoming datagrams
  // ======================================================================

  private readonly onDatagram = (datagram: Buffer, peer: Peer): void => {
    if (this.closing) return;
    this.stats.received++;
    let msg: CoapMessage;
    try {
      msg = parseMessage(datagram);
    } catch (err) {
      this.onMalformed(peer, err);
      return;
    }
    try {
      this.dispatch(msg, peer);
    } catch (err) {
      this.logger('error', `failed to process a message from ${peer.key}`, err);
    }
  };

  private onMalformed(peer: Peer, err: unknown): void {
    this.stats.malformed++;
    const kind = err instanceof CoapFormatError ? err.kind : 'codec';
    if (err instanceof CoapFormatError && err.confirmable && err.messageId !== undefined) {
      // RFC 7252 4.2: a CON that cannot be processed is rejected with RST.
      this.sendReset(err.messageId, peer);
    }
    this.logOnce(peer, kind, `dropping malformed datagrams from ${peer.key} (${kind}): ${(err as Error).message}`);
  }

  /** Logs a problem once per peer and kind, so that a flood does not flood the log. */
  private logOnce(peer: Peer, kind: string, message: string): void {
    const key = `${peer.key}|${kind}`;
    if (this.malformedLogged.has(key)) return;
    if (this.malformedLogged.size >= MAX_MALFORMED_LOG_KEYS) return;
    this.malformedLogged.add(key);
    this.logger('warn', message);
  }

  private dispatch(msg: CoapMessage, peer: Peer): void {
    const code = msg.code;
    if (code === '0.00') {
      if (msg.type === 'CON') this.sendReset(msg.messageId, peer); // CoAP ping
      else if (msg.type === 'ACK') this.onAckOrReset(msg, peer, false);
      else if (msg.type === 'RST') this.onAckOrReset(msg, peer, true);
      return;
    }
    if (code.charCodeAt(0) === 48 /* '0': request */) {
      if (msg.type === 'ACK' || msg.type === 'RST') {
        this.stats.malformed++;
        this.logOnce(peer, 'request-in-ack', `dropping requests sent as ${msg.type} from ${peer.key}`);
        return;
      }
      this.onRequestMessage(msg, peer);
      return;
    }
    if (msg.type === 'RST') {
      this.stats.malformed++;
      this.logOnce(peer, 'rst-not-empty', `dropping non-empty RST messages from ${peer.key}`);
      return;
    }
    if (msg.type === 'ACK') this.onAckOrReset(msg, peer, false);
    else this.onSeparateResponse(msg, peer);
  }

  private onAckOrReset(msg: CoapMessage, peer: Peer, reset: boolean): void {
    const ps = this.peers.get(peer.key);
    if (reset) this.stats.resetsReceived++;
    if (ps === undefined) return;
    const t = ps.outgoing.get(msg.messageId);
    if (t === undefined) {
      if (reset) this.onResetOfNonNotification(ps, msg.messageId);
      return; // an ACK for something long gone
    }
    ps.peer = peer;
    ps.lastActive = this.wheel.now();
    if (reset) t.onReset();
    else t.onAck(msg, peer);
  }

  private onSeparateResponse(msg: CoapMessage, peer: Peer): void {
    const now = this.wheel.now();
    const dup = this.dedup.find(peer.key, msg.messageId, now);
    if (dup !== undefined) {
      this.stats.duplicates++;
      if (msg.type === 'CON' && dup.reply) this.transmit(dup.reply, peer);
      return;
    }
    const ex = this.tokens.get(msg.token.toString('latin1'));
    if (ex === undefined || ex.ps.key !== peer.key || unknownCriticalOption(msg.options) !== undefined) {
      // Unknown token (or a response we cannot process): reject, which also ends a forgotten observation.
      this.sendReset(msg.messageId, peer);
      return;
    }
    const entry = this.dedup.add(peer.key, msg.messageId, now);
    if (msg.type === 'CON') {
      const ack = encodeEmpty('ACK', msg.messageId);
      this.transmit(ack, peer);
      this.dedup.setReply(entry, ack);
    }
    ex.ps.peer = peer;
    ex.ps.lastActive = now;
    ex.onResponse(msg, peer);
  }

  // ======================================================================
  // Server role
  // ======================================================================

  private onRequestMessage(msg: CoapMessage, peer: Peer): void {
    const now = this.wheel.now();
    const dup = this.dedup.find(peer.key, msg.messageId, now);
    if (dup !== undefined) {
      this.stats.duplicates++;
      if (msg.type === 'CON') {
        if (dup.reply !== null) this.transmit(dup.reply, peer);
        else if (dup.pending !== null && dup.pending.state === 'pending') this.goSeparate(dup.pending);
      }
      return;
    }
    const entry = this.dedup.add(peer.key, msg.messageId, now);
    const ps = this.peerState(peer, now);
    const sx = new ServerExchange(this, ps, peer, msg, entry);
    this.serve(sx, now);
  }

  private serve(sx: ServerExchange, now: number): void {
    const critical = unknownCriticalOption(sx.options);
    if (critical !== undefined) return this.respond(sx, { code: '4.02', payload: `unsupported critical option ${critical}` });
    if (hasOption(sx.options, OptionNumber.ProxyUri) || hasOption(sx.options, OptionNumber.ProxyScheme)) {
      return this.respond(sx, { code: '5.05' });
    }
    try {
      if (!sx.decodeOptions()) return this.respond(sx, { code: '4.05' });
    } catch (err) {
      return this.respond(sx, { code: '4.02', payload: (err as Error).message });
    }
    if (this.observers.size > 0 && (sx.method === 'GET' || sx.method === 'FETCH')) this.checkObserveRelation(sx);
    if (sx.block1 !== undefined) {
      const block = sx.block1;
      const key = `${sx.peer.key}|${sx.code}|${sx.path.join('/')}?${sx.query.join('&')}`;
      let size1: number | undefined;
      try {
        size1 = block.num === 0 ? getSize1(sx.options) : undefined;
      } catch {
        size1 = undefined; // a broken Size1 is only a hint
      }
      const outcome = this.block1.receive(key, block, sx.payload, size1, now);
      const echo: BlockOption = { num: block.num, more: block.more, szx: Math.min(block.szx, this.szx) };
      switch (outcome.kind) {
        case 'continue':
          return this.respond(sx, { code: '2.31' }, echo);
        case 'complete':
          sx.payload = outcome.body;
          break;
        case 'incomplete':
          return this.respond(sx, { code: '4.08', payload: outcome.reason });
        case 'bad-block':
          return this.respond(sx, { code: '4.00', payload: outcome.reason });
        case 'too-large': {
          const options: CoapOption[] = [];
          setSize1(options, this.block1.maxBodySize);
          return this.respond(sx, { code: '4.13', options }, { num: 0, more: false, szx: this.szx });
        }
      }
    }
    if (sx.block2 !== undefined && sx.block2.num > 0) {
      const rep = this.block2.get(this.block2KeyOf(sx), now);
      if (rep !== undefined) return this.respondFromRepresentation(sx, rep);
    }
    this.invokeHandler(sx);
  }

  private invokeHandler(sx: ServerExchange): void {
    const handler = this.handler;
    if (handler === null) return this.respond(sx, { code: '4.04' });
    this.stats.requestsHandled++;
    let result: OutgoingResponse | Promise<OutgoingResponse>;
    try {
      result = handler(sx);
    } catch (err) {
      return this.respondWithError(sx, err);
    }
    if (result !== null && typeof result === 'object' && typeof (result as Promise<OutgoingResponse>).then === 'function') {
      sx.state = 'pending';
      sx.dedup.pending = sx;
      if (sx.type === 'CON') this.wheel.schedule(sx, this.separateDelayMs);
      (result as Promise<OutgoingResponse>).then(
        (res) => this.respond(sx, res),
        (err: unknown) => this.respondWithError(sx, err),
      );
      return;
    }
    this.respond(sx, result as OutgoingResponse);
  }

  private respondWithError(sx: ServerExchange, err: unknown): void {
    if (err instanceof Lwm2mError && isResponseCode(err.code)) {
      this.logger('debug', `${sx.method} /${sx.path.join('/')} from ${sx.peer.key} answered ${err.code}: ${err.message}`);
      this.respond(sx, { code: err.code, payload: err.message.slice(0, MAX_DIAGNOSTIC_LENGTH) });
      return;
    }
    this.logger('error', `request handler failed for ${sx.method} /${sx.path.join('/')} from ${sx.peer.key}`, err);
    this.respond(sx, { code: '5.00' });
  }

  /** @internal ServerHost: the handler is slow (or the client retransmitted): empty ACK now, response later. */
  goSeparate(sx: ServerExchange): void {
    if (sx.state !== 'pending' || sx.type !== 'CON' || this.closing) return;
    this.wheel.cancel(sx);
    sx.state = 'separate';
    const ack = encodeEmpty('ACK', sx.messageId);
    this.transmit(ack, sx.peer);
    this.dedup.setReply(sx.dedup, ack);
  }

  /** @internal ServerHost */
  acceptObservation(sx: ServerExchange): ObserverHandle {
    if (sx.observe !== 0 || (sx.method !== 'GET' && sx.method !== 'FETCH')) {
      throw new CoapMessageError('only a GET or FETCH with Observe=0 can become an observation');
    }
    if (sx.observer === null) {
      sx.observer = new ObserverHandle({
        peer: sx.peer,
        token: sx.token,
        path: sx.path,
        query: sx.query,
        accept: sx.accept,
        blockKey: this.block2KeyOf(sx),
        now: this.wheel.now(),
      });
    }
    return sx.observer;
  }

  /** A GET/FETCH on the token of an existing observation re-registers or deregisters it (RFC 7641 3.3.1, 3.6). */
  private checkObserveRelation(sx: ServerExchange): void {
    const existing = this.observers.get(ObserverHandle.keyOf(sx.peer.key, sx.token));
    if (existing === undefined) return;
    this.removeObserver(existing, sx.observe === 0 ? 'replaced' : 'deregistered');
  }

  private removeObserver(handle: ObserverHandle, reason: ObserverEndReason): void {
    if (handle.state === 'ended') return;
    if (this.observers.get(handle.key) === handle) this.observers.delete(handle.key);
    const ps = this.peers.get(handle.peer.key);
    if (ps !== undefined) {
      const i = ps.observers.indexOf(handle);
      if (i >= 0) ps.observers.splice(i, 1);
    }
    if (handle.inflight) {
      handle.inflight.abandon();
      handle.inflight = null;
    }
    try {
      handle.finish(reason);
    } catch (err) {
      this.logger('error', "an observer 'end' listener threw", err);
    }
  }

  private onResetOfNonNotification(ps: PeerState, messageId: number): void {
    for (const handle of ps.observers) {
      if (handle.lastNonMid === messageId) {
        this.removeObserver(handle, 'reset');
        return;
      }
    }
  }

  /** @internal used by NotificationDelivery */
  observerGone(handle: ObserverHandle, reason: ObserverEndReason): void {
    this.removeObserver(handle, reason);
  }

  private block2KeyOf(sx: ServerExchange): string {
    return Block2Cache.key(sx.peer.key, sx.path, sx.query, sx.accept, sx.method === 'FETCH' ? sx.payload : undefined);
  }

  /** Options of a response from its fields (content format, Location-Path, ...). */
  private responseOptions(out: OutgoingResponse): CoapOption[] {
    const options: CoapOption[] = out.options ? out.options.slice() : [];
    if (out.contentFormat !== undefined) setContentFormat(options, out.contentFormat);
    if (out.locationPath !== undefined) setLocationPath(options, out.locationPath);
    if (out.etag !== undefined) setETag(options, out.etag);
    if (out.maxAge !== undefined) setMaxAge(options, out.maxAge);
    return options;
  }

  /**
   * Sends the response to a request: piggybacked in the ACK while we still
   * can, as a separate CON after an empty ACK, as NON to a NON request.
   * `block1` echoes the Block1 option of a block-wise request body.
   */
  private respond(sx: ServerExchange, out: OutgoingResponse | undefined, block1?: BlockOption): void {
    if (sx.state === 'done' || this.closing) return;
    if (out === null || typeof out !== 'object' || typeof out.code !== 'string' || !isResponseCode(out.code)) {
      this.logger('error', `request handler for ${sx.method} /${sx.path.join('/')} returned an invalid response (${describe(out)})`);
      out = { code: '5.00' };
    }
    const now = this.wheel.now();
    let msg: CoapMessage;
    let register = false;
    try {
      const options = this.responseOptions(out);
      const success = isSuccessCode(out.code);
      if (block1 !== undefined) setBlock1(options, block1);
      else if (sx.block1 !== undefined && success) setBlock1(options, { num: sx.block1.num, more: false, szx: sx.block1.szx });
      const observer = sx.observer;
      if (observer !== null && observer.state === 'pending') {
        if (!success) this.dropObserver(observer, 'rejected');
        else if (this.observers.size >= this.maxObservers) this.dropObserver(observer, 'refused');
        else {
          setObserve(options, observer.nextSequence());
          register = true;
        }
      }
      msg = { type: 'ACK', code: out.code, messageId: sx.messageId, token: sx.token, options, payload: toBuffer(out.payload) };
      if (success) this.applyBlock2(msg, sx.block2, sx, out.etag, now);
    } catch (err) {
      register = false;
      if (sx.observer !== null) this.dropObserver(sx.observer, 'rejected');
      let code = '5.00';
      if (err instanceof Lwm2mError && isResponseCode(err.code)) code = err.code;
      else this.logger('error', `cannot build the response to ${sx.method} /${sx.path.join('/')} from ${sx.peer.key}`, err);
      msg = { type: 'ACK', code, messageId: sx.messageId, token: sx.token, options: [], payload: EMPTY_BUFFER };
    }
    this.sendResponse(sx, msg, now);
    if (register) this.registerObserver(sx.observer!, sx.ps);
  }

  /** A later block of a representation cached by an earlier request. */
  private respondFromRepresentation(sx: ServerExchange, rep: Representation): void {
    const now = this.wheel.now();
    const msg: CoapMessage = { type: 'ACK', code: rep.code, messageId: sx.messageId, token: sx.token, options: rep.options.slice(), payload: rep.payload };
    try {
      this.applyBlock2(msg, sx.block2, sx, rep.etag, now);
    } catch (err) {
      msg.code = err instanceof Lwm2mError && isResponseCode(err.code) ? err.code : '5.00';
      msg.options = [];
      msg.payload = EMPTY_BUFFER;
    }
    this.sendResponse(sx, msg, now);
  }

  private sendResponse(sx: ServerExchange, msg: CoapMessage, now: number): void {
    this.wheel.cancel(sx);
    const separate = sx.type !== 'CON' || sx.state === 'separate';
    sx.state = 'done';
    sx.dedup.pending = null;
    if (!separate) {
      const datagram = this.encodeOrFail(msg);
      this.transmit(datagram, sx.peer);
      this.dedup.setReply(sx.dedup, datagram);
      return;
    }
    // A NON request gets a NON response; after an empty ACK the response is a CON of its own.
    const ps = this.peerState(sx.peer, now);
    msg.type = sx.type === 'CON' ? 'CON' : 'NON';
    msg.messageId = ps.nextMessageId();
    const datagram = this.encodeOrFail(msg);
    if (msg.type === 'NON') this.transmit(datagram, sx.peer);
    else new ResponseTransmission(this, ps, datagram, msg.messageId, separateResponseOwner(this.logger)).send(now);
  }

  private encodeOrFail(msg: CoapMessage): Buffer {
    try {
      return encodeMessage(msg);
    } catch (err) {
      this.logger('error', `cannot encode a ${msg.code} response`, err);
      return encodeMessage({ ...msg, code: '5.00', options: [], payload: EMPTY_BUFFER });
    }
  }

  private registerObserver(handle: ObserverHandle, ps: PeerState): void {
    const existing = this.observers.get(handle.key);
    if (existing !== undefined && existing !== handle) this.removeObserver(existing, 'replaced');
    handle.state = 'active';
    this.observers.set(handle.key, handle);
    ps.observers.push(handle);
  }

  private dropObserver(handle: ObserverHandle, reason: ObserverEndReason): void {
    try {
      handle.finish(reason);
    } catch (err) {
      this.logger('error', "an observer 'end' listener threw", err);
    }
  }

  /**
   * Cuts `msg.payload` to the requested (or our preferred) block when it is
   * larger than one block or a block was asked for; keeps the whole
   * representation for the following blocks. Throws Lwm2mError 4.02 for a
   * block number past the end.
   */
  private applyBlock2(msg: CoapMessage, requested: BlockOption | undefined, keyOf: ServerExchange | string, etag: Buffer | undefined, now: number): void {
    const full = msg.payload;
    if (requested === undefined && full.length <= blockSize(this.szx)) return;
    const szx = requested !== undefined ? Math.min(requested.szx, this.szx) : this.szx;
    const size = blockSize(szx);
    const offset = requested !== undefined ? requested.num * blockSize(requested.szx) : 0;
    const num = Math.floor(offset / size);
    if (num * size >= full.length && num > 0) throw new Lwm2mError('4.02', `block ${num} is past the end of the representation`);
    const start = num * size;
    const end = Math.min(start + size, full.length);
    const more = end < full.length;
    let tag = etag;
    if (tag === undefined && (more || num > 0)) {
      const existing = msg.options.find((o) => o.number === OptionNumber.ETag);
      tag = existing?.value ?? etagOf(full);
    }
    if (tag !== undefined) setETag(msg.options, tag);
    setBlock2(msg.options, { num, more, szx });
    if (num === 0) setSize2(msg.options, full.length);
    const key = typeof keyOf === 'string' ? keyOf : this.block2KeyOf(keyOf);
    if (more) {
      if (num === 0) {
        const options = msg.options.filter((o) => o.number !== OptionNumber.Block2 && o.number !== OptionNumber.Size2 && o.number !== OptionNumber.Observe);
        this.block2.set(key, { code: msg.code, options, payload: full, etag: tag!, touched: now });
      }
    } else if (num > 0) {
      this.block2.delete(key);
    }
    msg.payload = full.subarray(start, end);
  }

  // ======================================================================
  // Shared plumbing
  // ======================================================================

  /** @internal TransmissionHost */
  transmit(datagram: Buffer, peer: Peer): void {
    this.stats.sent++;
    this.transport.send(datagram, peer);
  }

  private sendReset(messageId: number, peer: Peer): void {
    this.stats.resetsSent++;
    this.transmit(encodeEmpty('RST', messageId), peer);
  }

  private peerState(peer: Peer, now: number): PeerState {
    let ps = this.peers.get(peer.key);
    if (ps === undefined) {
      if (this.peers.size >= this.maxPeers) this.evictIdlePeers(now, 0);
      ps = new PeerState(peer, now);
      this.peers.set(peer.key, ps);
    } else {
      ps.peer = peer;
      ps.lastActive = now;
    }
    return ps;
  }

  /** Drops peers with nothing pending and no activity for `idleMs` (oldest first). */
  private evictIdlePeers(now: number, idleMs: number): void {
    const target = idleMs === 0 ? Math.floor(this.maxPeers * 0.9) : 0;
    for (const [key, ps] of this.peers) {
      if (idleMs === 0 && this.peers.size <= target) break;
      if (ps.idle && now - ps.lastActive >= idleMs) this.peers.delete(key);
    }
  }

  private sweep(): void {
    const now = this.wheel.now();
    if (now - this.malformedLogClearedAt > MALFORMED_LOG_PERIOD_MS) {
      // Log each kind of trouble again at most once per period and peer.
      this.malformedLogged.clear();
      this.malformedLogClearedAt = now;
    }
    this.dedup.sweep(now);
    this.block1.sweep(now);
    this.block2.sweep(now);
    this.evictIdlePeers(now, this.params.exchangeLifetimeMs);
  }
}

/** What the endpoint remembers about an observation it started. */
interface ObservationRequest {
  peer: Peer;
  template: RequestTemplate;
  maxBodySize: number;
}
const observationRequests = new WeakMap<Observation, ObservationRequest>();

/** Resolves a notify() promise and removes the observer when a CON notification fails. */
class NotificationDelivery implements ResponseOwner {
  constructor(
    private readonly endpoint: CoapEndpoint,
    private readonly handle: ObserverHandle,
    private readonly resolve: (delivered: boolean) => void,
  ) {}

  onDelivered(t: ResponseTransmission): void {
    if (this.handle.inflight === t) this.handle.inflight = null;
    this.resolve(true);
  }

  onRejected(t: ResponseTransmission): void {
    if (this.handle.inflight === t) this.handle.inflight = null;
    this.endpoint.observerGone(this.handle, 'reset');
    this.resolve(false);
  }

  onLost(t: ResponseTransmission): void {
    if (this.handle.inflight === t) this.handle.inflight = null;
    this.endpoint.observerGone(this.handle, 'timeout');
    this.resolve(false);
  }

  onAbandoned(t: ResponseTransmission): void {
    if (this.handle.inflight === t) this.handle.inflight = null;
    this.resolve(false);
  }
}

/** Separate responses nobody waits for: failures are only logged. */
function separateResponseOwner(logger: Logger): ResponseOwner {
  return {
    onDelivered: () => {},
    onRejected: (t) => logger('debug', `${t.ps.key} rejected a separate response with RST`),
    onLost: (t) => logger('info', `separate response to ${t.ps.key} was never acknowledged`),
    onAbandoned: () => {},
  };
}

/**
 * An ETag for a representation we cut into blocks: derived from the bytes,
 * so that serving a later block from a fresh handler call (the cached copy
 * expired) still matches when the representation did not change.
 */
function etagOf(payload: Buffer): Buffer {
  return createHash('sha256').update(payload).digest().subarray(0, 8);
}

function positive(name: string, value: number): number {
  if (!(value > 0)) throw new CoapConfigError(`${name} must be > 0 (got ${value})`);
  return value;
}

function toBuffer(payload: Buffer | string | undefined): Buffer {
  if (payload === undefined) return EMPTY_BUFFER;
  return typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value)?.slice(0, 80) ?? String(value);
  } catch {
    return typeof value;
  }
}

