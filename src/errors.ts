/**
 * Typed errors of the engine. Every error that can reach the network or a
 * flow carries the CoAP response code that describes it, so that a decoder
 * failure becomes 4.00/4.15 on the wire and a clear message in Node-RED
 * without any layer having to guess.
 */

/** CoAP response codes used by LwM2M, in dotted form ("4.04"). */
export const CoapCode = {
  Created: '2.01',
  Deleted: '2.02',
  Valid: '2.03',
  Changed: '2.04',
  Content: '2.05',
  Continue: '2.31',
  BadRequest: '4.00',
  Unauthorized: '4.01',
  BadOption: '4.02',
  Forbidden: '4.03',
  NotFound: '4.04',
  MethodNotAllowed: '4.05',
  NotAcceptable: '4.06',
  RequestEntityIncomplete: '4.08',
  Conflict: '4.09',
  PreconditionFailed: '4.12',
  RequestEntityTooLarge: '4.13',
  UnsupportedContentFormat: '4.15',
  InternalServerError: '5.00',
  NotImplemented: '5.01',
  ServiceUnavailable: '5.03',
  GatewayTimeout: '5.04',
} as const;

export type CoapCodeValue = (typeof CoapCode)[keyof typeof CoapCode];

/** Base class of every error the engine raises on purpose. */
export class Lwm2mError extends Error {
  /** CoAP response code describing the failure ("4.00", "4.04", ...). */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'Lwm2mError';
    this.code = code;
  }
}

/** Bytes that do not decode in the announced content format (4.00). */
export class FormatError extends Lwm2mError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(CoapCode.BadRequest, message, options);
    this.name = 'FormatError';
  }
}

/** A content format we cannot produce or consume for this request (4.15). */
export class UnsupportedFormatError extends Lwm2mError {
  constructor(message: string) {
    super(CoapCode.UnsupportedContentFormat, message);
    this.name = 'UnsupportedFormatError';
  }
}

/** A malformed LwM2M path ("/3/x/9", an id above 65534, ...) (4.00). */
export class PathError extends Lwm2mError {
  constructor(message: string) {
    super(CoapCode.BadRequest, message);
    this.name = 'PathError';
  }
}

/** A DDF/object definition that cannot be loaded. */
export class ModelError extends Error {
  /** The file the definition came from, when it came from a file. */
  readonly file: string | undefined;

  constructor(message: string, file?: string, options?: { cause?: unknown }) {
    super(file ? `${file}: ${message}` : message, options);
    this.name = 'ModelError';
    this.file = file;
  }
}
