/** "dtls:[192.0.2.1]:5684": the key a DTLS peer is known by in the CoAP layer. */
export function dtlsPeerKey(host: string, port: number): string {
  return `dtls:[${host}]:${port}`;
}
