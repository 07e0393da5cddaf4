/**
 * Registration timing rules, kept pure so they can be tested and read in
 * one place.
 *
 * Update before the lifetime runs out: the client updates at
 *   lifetime − margin,  margin = max(lifetime / 10, min(transmitWait, lifetime / 2))
 * so a long lifetime keeps 10 % in reserve (a day → update after 21.6 h),
 * and a short one keeps enough time for one CoAP exchange to run all its
 * retransmissions (MAX_TRANSMIT_WAIT, 93 s with the RFC 7252 defaults)
 * without ever waiting less than half the lifetime (lt=60 → after 30 s).
 *
 * Retry when a server is unreachable or refuses: exponential back-off
 * initialDelay · factor^(attempt−1), capped at maxDelay, no randomness
 * (a jitter can be added by the caller).
 */

export interface RetryPolicy {
  /** Delay before the first retry (ms). */
  initialDelayMs: number;
  /** Largest delay between attempts (ms). */
  maxDelayMs: number;
  /** Growth factor between attempts (≥ 1). */
  factor: number;
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = { initialDelayMs: 5_000, maxDelayMs: 10 * 60_000, factor: 2 };

/** Milliseconds after a successful Register/Update at which the next Update is due. */
export function updateDelayMs(lifetimeS: number, transmitWaitMs: number): number {
  const lifetimeMs = lifetimeS * 1000;
  const margin = Math.max(lifetimeMs / 10, Math.min(transmitWaitMs, lifetimeMs / 2));
  return Math.max(0, Math.floor(lifetimeMs - margin));
}

/** Delay before retry number `attempt` (1 = first retry). */
export function retryDelayMs(attempt: number, policy: RetryPolicy = DEFAULT_RETRY): number {
  const n = Math.max(1, Math.floor(attempt));
  const delay = policy.initialDelayMs * Math.pow(Math.max(1, policy.factor), n - 1);
  return Math.min(policy.maxDelayMs, delay);
}
