/**
 * CoAP transmission parameters (RFC 7252 section 4.8) and the times derived
 * from them (section 4.8.2). Defaults are the RFC's; tests shrink
 * ackTimeoutMs so that a lost datagram costs milliseconds, not seconds.
 */
import { CoapConfigError } from './errors.js';

export interface TransmissionParameters {
  /** ACK_TIMEOUT: initial wait for an ACK (ms). */
  ackTimeoutMs: number;
  /** ACK_RANDOM_FACTOR: the initial wait is drawn from [ACK_TIMEOUT, ACK_TIMEOUT * factor]. */
  ackRandomFactor: number;
  /** MAX_RETRANSMIT: retransmissions of a CON before giving up. */
  maxRetransmit: number;
  /** NSTART: outstanding requests per peer; Infinity (the default here) disables the limit. */
  nstart: number;
  /** MAX_LATENCY (ms), used for EXCHANGE_LIFETIME. */
  maxLatencyMs: number;
  /** PROCESSING_DELAY (ms); the RFC sets it to ACK_TIMEOUT. */
  processingDelayMs?: number;
  /** Override for EXCHANGE_LIFETIME (ms), how long a message id is remembered for duplicate detection. */
  exchangeLifetimeMs?: number;
}

export const DEFAULT_PARAMETERS: Readonly<TransmissionParameters> = {
  ackTimeoutMs: 2000,
  ackRandomFactor: 1.5,
  maxRetransmit: 4,
  nstart: Infinity,
  maxLatencyMs: 100_000,
};

/** Parameters with every value checked and the derived times computed. */
export interface ResolvedParameters extends Required<TransmissionParameters> {
  /** MAX_TRANSMIT_SPAN: first to last transmission of a CON (ms). */
  maxTransmitSpanMs: number;
  /** MAX_TRANSMIT_WAIT: first transmission to giving up (ms). */
  maxTransmitWaitMs: number;
}

export function resolveParameters(p: Partial<TransmissionParameters> = {}): ResolvedParameters {
  const merged = { ...DEFAULT_PARAMETERS, ...p };
  const { ackTimeoutMs, ackRandomFactor, maxRetransmit, nstart, maxLatencyMs } = merged;
  if (!(ackTimeoutMs > 0)) throw new CoapConfigError(`ackTimeoutMs must be > 0 (got ${ackTimeoutMs})`);
  if (!(ackRandomFactor >= 1)) throw new CoapConfigError(`ackRandomFactor must be >= 1 (got ${ackRandomFactor})`);
  if (!(Number.isInteger(maxRetransmit) && maxRetransmit >= 0 && maxRetransmit <= 20)) {
    throw new CoapConfigError(`maxRetransmit must be an integer 0..20 (got ${maxRetransmit})`);
  }
  if (!(nstart >= 1)) throw new CoapConfigError(`nstart must be >= 1 (got ${nstart})`);
  const processingDelayMs = merged.processingDelayMs ?? ackTimeoutMs;
  const maxTransmitSpanMs = ackTimeoutMs * (2 ** maxRetransmit - 1) * ackRandomFactor;
  const maxTransmitWaitMs = ackTimeoutMs * (2 ** (maxRetransmit + 1) - 1) * ackRandomFactor;
  const exchangeLifetimeMs = merged.exchangeLifetimeMs ?? maxTransmitSpanMs + 2 * maxLatencyMs + processingDelayMs;
  return {
    ackTimeoutMs,
    ackRandomFactor,
    maxRetransmit,
    nstart,
    maxLatencyMs,
    processingDelayMs,
    exchangeLifetimeMs,
    maxTransmitSpanMs,
    maxTransmitWaitMs,
  };
}

/** A fresh initial retransmission timeout drawn from [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR]. */
export function initialTimeout(p: ResolvedParameters): number {
  return p.ackTimeoutMs * (1 + Math.random() * (p.ackRandomFactor - 1));
}
