/**
 * Errors raised by the CoAP message layer. Each one is an `Lwm2mError`, so
 * it carries the CoAP code that best describes the failure and crosses the
 * engine's boundaries like every other typed error.
 */
import { CoapCode, Lwm2mError } from '../errors.js';

/** What was wrong with a datagram that did not parse as a CoAP message. */
export type MalformedKind =
  | 'truncated-header'
  | 'version'
  | 'token-length'
  | 'truncated-token'
  | 'empty-not-empty'
  | 'reserved-code'
  | 'option'
  | 'payload-marker'
  | 'codec';

/**
 * Bytes that are not a valid CoAP message (4.00). `messageId` and
 * `confirmable` are filled in when the fixed header was readable, so that the
 * endpoint can answer a broken CON with RST as RFC 7252 asks.
 */
export class CoapFormatError extends Lwm2mError {
  readonly kind: MalformedKind;
  readonly messageId: number | undefined;
  readonly confirmable: boolean;

  constructor(kind: MalformedKind, message: string, header?: { messageId: number; confirmable: boolean }) {
    super(CoapCode.BadRequest, message);
    this.name = 'CoapFormatError';
    this.kind = kind;
    this.messageId = header?.messageId;
    this.confirmable = header?.confirmable ?? false;
  }
}

/** An outgoing message or option that cannot be encoded (bad argument, 4.00). */
export class CoapMessageError extends Lwm2mError {
  constructor(message: string) {
    super(CoapCode.BadRequest, message);
    this.name = 'CoapMessageError';
  }
}

/** A request got no response before its deadline or its last retransmission (5.04). */
export class CoapTimeoutError extends Lwm2mError {
  constructor(message: string) {
    super(CoapCode.GatewayTimeout, message);
    this.name = 'CoapTimeoutError';
  }
}

/** The peer rejected our message with a Reset (RST) (5.03). */
export class CoapResetError extends Lwm2mError {
  constructor(message: string) {
    super(CoapCode.ServiceUnavailable, message);
    this.name = 'CoapResetError';
  }
}

/** The endpoint was closed while the operation was pending (5.03). */
export class CoapClosedError extends Lwm2mError {
  constructor(message = 'CoAP endpoint closed') {
    super(CoapCode.ServiceUnavailable, message);
    this.name = 'CoapClosedError';
  }
}

/**
 * A block-wise transfer could not be completed on our side: body over the
 * size cap (4.13), blocks that do not fit together (4.08), ...
 */
export class CoapBlockError extends Lwm2mError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'CoapBlockError';
  }
}

/** An endpoint or transport option out of range (5.00: a configuration problem on our side). */
export class CoapConfigError extends Lwm2mError {
  constructor(message: string) {
    super(CoapCode.InternalServerError, message);
    this.name = 'CoapConfigError';
  }
}
