/** Counters of one endpoint, for monitoring and benchmarks. Plain numbers, only ever incremented. */
export interface CoapStats {
  /** Datagrams received (well-formed or not). */
  received: number;
  /** Datagrams sent, retransmissions included. */
  sent: number;
  /** CON retransmissions sent. */
  retransmissions: number;
  /** Incoming duplicates (answered from the cache or ignored, never handled twice). */
  duplicates: number;
  /** Malformed datagrams dropped. */
  malformed: number;
  /** Our requests or CON notifications that got no answer in time. */
  timeouts: number;
  /** RST messages received. */
  resetsReceived: number;
  /** RST messages sent (pings answered, unknown responses rejected, ...). */
  resetsSent: number;
  /** Requests passed to the request handler. */
  requestsHandled: number;
}

export function newStats(): CoapStats {
  return {
    received: 0,
    sent: 0,
    retransmissions: 0,
    duplicates: 0,
    malformed: 0,
    timeouts: 0,
    resetsReceived: 0,
    resetsSent: 0,
    requestsHandled: 0,
  };
}
