/**
 * Counters shared by a transport and its sessions: what was dropped and
 * why, how handshakes went. Plain numbers, read by tests and monitoring.
 */
export interface DtlsStats {
  /** Datagrams that held no readable record. */
  malformedDatagrams: number;
  /** Records dropped by the anti-replay window. */
  replayedRecords: number;
  /** Protected records that did not authenticate (dropped). */
  unauthenticatedRecords: number;
  /** Records dropped for any other reason (unknown epoch, too long, wrong state). */
  droppedRecords: number;
  clientHellos: number;
  helloVerifyRequests: number;
  handshakesStarted: number;
  handshakesCompleted: number;
  handshakesFailed: number;
  /** Handshakes not started because the table of handshakes in progress was full. */
  handshakesRefused: number;
  retransmissions: number;
  alertsSent: number;
  alertsReceived: number;
}

export function newDtlsStats(): DtlsStats {
  return {
    malformedDatagrams: 0, replayedRecords: 0, unauthenticatedRecords: 0, droppedRecords: 0,
    clientHellos: 0, helloVerifyRequests: 0, handshakesStarted: 0, handshakesCompleted: 0,
    handshakesFailed: 0, handshakesRefused: 0, retransmissions: 0, alertsSent: 0, alertsReceived: 0,
  };
}
