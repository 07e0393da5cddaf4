/**
 * The shapes that cross the endpoint's public API: what a caller asks for
 * (CoapRequest), what comes back (CoapResponse), what a request handler
 * sees (IncomingRequest) and answers (OutgoingResponse).
 */
import type { CoapMessage, CoapMethod, CoapOption } from './packet.js';
import type { Peer } from './transport.js';
import type { ObserverHandle } from './observer.js';

/** A response (or notification) received from a peer. */
export interface CoapResponse extends CoapMessage {
  peer: Peer;
}

/** Query parameters: "k=v" strings, or an object where `null` means a key without value. */
export type QueryInput = readonly string[] | Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface CoapRequest {
  /** Method name or dotted request code; GET by default. */
  method?: CoapMethod | string;
  /** "/3/0/1" or ["3", "0", "1"]; each segment becomes one Uri-Path option. */
  path?: string | readonly string[];
  query?: QueryInput;
  /** Extra options, in order (repeated options stay repeated). */
  options?: readonly CoapOption[];
  payload?: Buffer | string;
  /** CON (default) or NON. */
  confirmable?: boolean;
  accept?: number;
  contentFormat?: number;
  /**
   * Deadline of each CoAP exchange (each block of a block-wise transfer),
   * independent of EXCHANGE_LIFETIME; the endpoint's requestTimeoutMs by default.
   */
  timeoutMs?: number;
  /** Raw Observe option value (0 register, 1 deregister). Use `observe()` for a managed observation. */
  observe?: number;
  /** Reuse this token instead of a fresh random one (e.g. to deregister an observation by hand). */
  token?: Buffer;
  /** Block size for Block1 (request bodies) and early Block2 negotiation; the endpoint's blockSize by default. */
  blockSize?: number;
  /** Largest response body accepted through Block2 (bytes); the endpoint's maxBodySize by default. */
  maxBodySize?: number;
}

/** A request as the request handler sees it. */
export interface IncomingRequest {
  readonly peer: Peer;
  readonly method: CoapMethod;
  readonly code: string;
  readonly confirmable: boolean;
  readonly messageId: number;
  readonly token: Buffer;
  /** Uri-Path segments. */
  readonly path: readonly string[];
  /** Uri-Query values ("ep=dev1", "b=U", "Q"). */
  readonly query: readonly string[];
  readonly options: readonly CoapOption[];
  /** The body; for a Block1 transfer, the whole reassembled body. */
  readonly payload: Buffer;
  readonly contentFormat: number | undefined;
  readonly accept: number | undefined;
  /** Observe option value: 0 register, 1 deregister, undefined for none. */
  readonly observe: number | undefined;
  /**
   * For a GET/FETCH with Observe=0: makes the requester an observer. The
   * handle is live once the handler's response is a 2.xx (which then carries
   * the Observe option); call `endpoint.notify(handle, ...)` for each change.
   */
  acceptObservation(): ObserverHandle;
}

export interface OutgoingResponse {
  /** Response code, "2.05", "4.04", ... */
  code: string;
  payload?: Buffer | string;
  contentFormat?: number;
  /** Extra options, in order. */
  options?: readonly CoapOption[];
  /** Location-Path segments, each sent as its own option. */
  locationPath?: readonly string[];
  etag?: Buffer;
  maxAge?: number;
}

/** A notification: a response, sent CON or NON. */
export interface OutgoingNotification extends OutgoingResponse {
  /**
   * CON or NON. By default NON, except that a CON is sent when the last CON
   * to this observer is more than 24 hours old (RFC 7641 section 4.5).
   */
  confirmable?: boolean;
}

export type RequestHandler = (request: IncomingRequest) => OutgoingResponse | Promise<OutgoingResponse>;
