/**
 * The TLS 1.2 pseudo-random function with SHA-256 (RFC 5246 §5) and the key
 * schedule built on it: PSK premaster secret (RFC 4279 §2), master secret,
 * extended master secret (RFC 7627 §4), key block and Finished verify_data.
 */
import { createHmac } from 'node:crypto';

/** P_SHA256(secret, label + seed), `length` bytes. */
export function prf(secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const out = Buffer.allocUnsafe(length);
  let a = labelSeed; // A(0)
  let filled = 0;
  while (filled < length) {
    a = createHmac('sha256', secret).update(a).digest(); // A(i) = HMAC(secret, A(i-1))
    const block = createHmac('sha256', secret).update(a).update(labelSeed).digest();
    filled += block.copy(out, filled, 0, Math.min(block.length, length - filled));
  }
  return out;
}

/** Plain PSK premaster secret: uint16 N, N zero bytes, uint16 N, the key. */
export function pskPremasterSecret(psk: Buffer): Buffer {
  const n = psk.length;
  const out = Buffer.alloc(4 + 2 * n);
  out.writeUInt16BE(n, 0);
  out.writeUInt16BE(n, 2 + n);
  psk.copy(out, 4 + n);
  return out;
}

export const MASTER_SECRET_LENGTH = 48;

export function masterSecret(premaster: Buffer, clientRandom: Buffer, serverRandom: Buffer): Buffer {
  return prf(premaster, 'master secret', Buffer.concat([clientRandom, serverRandom]), MASTER_SECRET_LENGTH);
}

/** RFC 7627: bound to the hash of the handshake up to and including ClientKeyExchange. */
export function extendedMasterSecret(premaster: Buffer, sessionHash: Buffer): Buffer {
  return prf(premaster, 'extended master secret', sessionHash, MASTER_SECRET_LENGTH);
}

/** key_block = PRF(master, "key expansion", server_random + client_random). Note the order. */
export function keyBlock(master: Buffer, clientRandom: Buffer, serverRandom: Buffer, length: number): Buffer {
  return prf(master, 'key expansion', Buffer.concat([serverRandom, clientRandom]), length);
}

export const VERIFY_DATA_LENGTH = 12;

export function finishedVerifyData(master: Buffer, role: 'client' | 'server', transcriptHash: Buffer): Buffer {
  return prf(master, `${role} finished`, transcriptHash, VERIFY_DATA_LENGTH);
}
