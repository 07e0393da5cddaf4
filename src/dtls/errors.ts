/**
 * Errors of the DTLS layer. Each carries the alert a peer should be sent
 * when the error ends a handshake or a connection.
 */
import { CoapCode, Lwm2mError } from '../errors.js';
import { AlertDescription, alertName } from './constants.js';

/** A DTLS failure; `alert` is the fatal alert that reports it to the peer. */
export class DtlsError extends Lwm2mError {
  readonly alert: number;

  constructor(alert: number, message: string, options?: { cause?: unknown }) {
    super(alert === AlertDescription.DecodeError ? CoapCode.BadRequest : CoapCode.Unauthorized, message, options);
    this.name = 'DtlsError';
    this.alert = alert;
  }
}

/** Bytes that do not decode as the DTLS structure they claim to be (decode_error). */
export class DtlsDecodeError extends DtlsError {
  constructor(message: string) {
    super(AlertDescription.DecodeError, message);
    this.name = 'DtlsDecodeError';
  }
}

/** The peer ended the connection with an alert (fatal, or close_notify). */
export class DtlsAlertReceived extends DtlsError {
  readonly fatal: boolean;

  constructor(description: number, fatal: boolean) {
    super(description, `peer sent ${fatal ? 'fatal' : 'warning'} alert ${alertName(description)}`);
    this.name = 'DtlsAlertReceived';
    this.fatal = fatal;
  }
}

/** A bad option given to a DTLS transport (a programming error, thrown synchronously). */
export class DtlsConfigError extends Lwm2mError {
  constructor(message: string) {
    super(CoapCode.InternalServerError, message);
    this.name = 'DtlsConfigError';
  }
}
