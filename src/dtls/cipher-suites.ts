/**
 * The PSK cipher suites we speak and how each protects a record:
 *   0xC0A8 TLS_PSK_WITH_AES_128_CCM_8     (LwM2M mandatory; AEAD, 8-byte tag)
 *   0x00A8 TLS_PSK_WITH_AES_128_GCM_SHA256 (AEAD, 16-byte tag)
 *   0x00AE TLS_PSK_WITH_AES_128_CBC_SHA256 (CBC + HMAC-SHA256, MAC-then-encrypt
 *          or encrypt-then-MAC when RFC 7366 was negotiated)
 * All three use the SHA-256 PRF.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual, type CipherCCMTypes, type CipherGCMTypes } from 'node:crypto';
import { additionalData } from './record.js';

export interface CipherSuite {
  readonly id: number;
  readonly name: string;
  readonly kind: 'aead' | 'cbc';
  /** Node's cipher name. */
  readonly cipher: 'aes-128-ccm' | 'aes-128-gcm' | 'aes-128-cbc';
  readonly keyLength: number;
  /** Implicit IV from the key block (AEAD salt). */
  readonly fixedIvLength: number;
  readonly macKeyLength: number;
  /** AEAD tag length, or MAC length for CBC. */
  readonly tagLength: number;
}

export const PSK_AES_128_CCM_8: CipherSuite = {
  id: 0xc0a8, name: 'TLS_PSK_WITH_AES_128_CCM_8', kind: 'aead', cipher: 'aes-128-ccm',
  keyLength: 16, fixedIvLength: 4, macKeyLength: 0, tagLength: 8,
};
export const PSK_AES_128_GCM_SHA256: CipherSuite = {
  id: 0x00a8, name: 'TLS_PSK_WITH_AES_128_GCM_SHA256', kind: 'aead', cipher: 'aes-128-gcm',
  keyLength: 16, fixedIvLength: 4, macKeyLength: 0, tagLength: 16,
};
export const PSK_AES_128_CBC_SHA256: CipherSuite = {
  id: 0x00ae, name: 'TLS_PSK_WITH_AES_128_CBC_SHA256', kind: 'cbc', cipher: 'aes-128-cbc',
  keyLength: 16, fixedIvLength: 0, macKeyLength: 32, tagLength: 32,
};

/** Every suite we implement, in our order of preference. */
export const ALL_CIPHER_SUITES: readonly CipherSuite[] = [PSK_AES_128_CCM_8, PSK_AES_128_GCM_SHA256, PSK_AES_128_CBC_SHA256];

export function cipherSuiteById(id: number): CipherSuite | undefined {
  return ALL_CIPHER_SUITES.find((s) => s.id === id);
}

/** Keys of one direction, cut from the key block. */
export interface DirectionKeys {
  macKey: Buffer;
  key: Buffer;
  iv: Buffer;
}

/** Splits the key block (client_write_MAC, server_write_MAC, client_write_key, server_write_key, client IV, server IV). */
export function splitKeyBlock(suite: CipherSuite, block: Buffer): { client: DirectionKeys; server: DirectionKeys } {
  let pos = 0;
  const take = (n: number): Buffer => block.subarray(pos, (pos += n));
  const clientMac = take(suite.macKeyLength);
  const serverMac = take(suite.macKeyLength);
  const clientKey = take(suite.keyLength);
  const serverKey = take(suite.keyLength);
  const clientIv = take(suite.fixedIvLength);
  const serverIv = take(suite.fixedIvLength);
  return { client: { macKey: clientMac, key: clientKey, iv: clientIv }, server: { macKey: serverMac, key: serverKey, iv: serverIv } };
}

export function keyBlockLength(suite: CipherSuite): number {
  return 2 * (suite.macKeyLength + suite.keyLength + suite.fixedIvLength);
}

/** Protection of one direction of one epoch. `open` returns null for any record that does not authenticate. */
export interface RecordProtection {
  seal(type: number, version: number, epoch: number, seq: number, plaintext: Buffer): Buffer;
  open(type: number, version: number, epoch: number, seq: number, fragment: Buffer): Buffer | null;
  /** Largest number of bytes protection adds to a plaintext. */
  readonly overhead: number;
}

export function createProtection(suite: CipherSuite, keys: DirectionKeys, encryptThenMac: boolean): RecordProtection {
  return suite.kind === 'aead' ? new AeadProtection(suite, keys) : new CbcProtection(keys, encryptThenMac);
}

const EXPLICIT_NONCE_LENGTH = 8;
/**
 * Some zero-length Buffers (e.g. randomBytes(0)) make Node skip the cipher
 * update, and CCM then fails with "tag not set": empty input always goes in
 * as this one.
 */
const EMPTY = Buffer.alloc(0);

/** RFC 5288/6655 AEAD records: nonce_explicit (8) + ciphertext + tag; nonce = salt(4) + nonce_explicit. */
class AeadProtection implements RecordProtection {
  readonly overhead: number;

  constructor(
    private readonly suite: CipherSuite,
    private readonly keys: DirectionKeys,
  ) {
    this.overhead = EXPLICIT_NONCE_LENGTH + suite.tagLength;
  }

  private nonce(explicit: Buffer): Buffer {
    return Buffer.concat([this.keys.iv, explicit]);
  }

  seal(type: number, version: number, epoch: number, seq: number, plaintext: Buffer): Buffer {
    // epoch + sequence number never repeat under one key, which makes them a safe explicit nonce.
    const explicit = Buffer.allocUnsafe(EXPLICIT_NONCE_LENGTH);
    explicit.writeUInt16BE(epoch, 0);
    explicit.writeUIntBE(seq, 2, 6);
    const aad = additionalData(epoch, seq, type, version, plaintext.length);
    const cipher = this.suite.cipher === 'aes-128-ccm'
      ? createCipheriv(this.suite.cipher as CipherCCMTypes, this.keys.key, this.nonce(explicit), { authTagLength: this.suite.tagLength })
      : createCipheriv(this.suite.cipher as CipherGCMTypes, this.keys.key, this.nonce(explicit), { authTagLength: this.suite.tagLength });
    cipher.setAAD(aad, { plaintextLength: plaintext.length });
    const body = cipher.update(plaintext.length === 0 ? EMPTY : plaintext);
    cipher.final();
    return Buffer.concat([explicit, body, cipher.getAuthTag()]);
  }

  open(type: number, version: number, epoch: number, seq: number, fragment: Buffer): Buffer | null {
    const tagLength = this.suite.tagLength;
    if (fragment.length < EXPLICIT_NONCE_LENGTH + tagLength) return null;
    const explicit = fragment.subarray(0, EXPLICIT_NONCE_LENGTH);
    const ciphertext = fragment.subarray(EXPLICIT_NONCE_LENGTH, fragment.length - tagLength);
    const tag = fragment.subarray(fragment.length - tagLength);
    const aad = additionalData(epoch, seq, type, version, ciphertext.length);
    try {
      const decipher = this.suite.cipher === 'aes-128-ccm'
        ? createDecipheriv(this.suite.cipher as CipherCCMTypes, this.keys.key, this.nonce(explicit), { authTagLength: tagLength })
        : createDecipheriv(this.suite.cipher as CipherGCMTypes, this.keys.key, this.nonce(explicit), { authTagLength: tagLength });
      decipher.setAuthTag(tag);
      decipher.setAAD(aad, { plaintextLength: ciphertext.length });
      const plain = decipher.update(ciphertext.length === 0 ? EMPTY : ciphertext);
      decipher.final(); // throws when the tag does not match
      return plain;
    } catch {
      return null;
    }
  }
}

const BLOCK = 16;
const MAC_LENGTH = 32;

/**
 * AES-128-CBC with HMAC-SHA256 (RFC 5246 §6.2.3.2), explicit random IV per
 * record. MAC-then-encrypt by default; encrypt-then-MAC (RFC 7366) when the
 * extension was negotiated.
 */
class CbcProtection implements RecordProtection {
  readonly overhead = BLOCK + MAC_LENGTH + BLOCK; // IV + MAC + at most one block of padding

  constructor(
    private readonly keys: DirectionKeys,
    private readonly encryptThenMac: boolean,
  ) {}

  private mac(epoch: number, seq: number, type: number, version: number, data: Buffer): Buffer {
    return createHmac('sha256', this.keys.macKey).update(additionalData(epoch, seq, type, version, data.length)).update(data).digest();
  }

  private encrypt(data: Buffer): Buffer {
    const padLength = (BLOCK - ((data.length + 1) % BLOCK)) % BLOCK; // data + padding + length byte fill whole blocks
    const padded = Buffer.alloc(data.length + padLength + 1, padLength);
    data.copy(padded, 0);
    const iv = randomBytes(BLOCK);
    const cipher = createCipheriv('aes-128-cbc', this.keys.key, iv).setAutoPadding(false);
    return Buffer.concat([iv, cipher.update(padded), cipher.final()]);
  }

  private decrypt(fragment: Buffer): Buffer | null {
    if (fragment.length < 2 * BLOCK || fragment.length % BLOCK !== 0) return null;
    const decipher = createDecipheriv('aes-128-cbc', this.keys.key, fragment.subarray(0, BLOCK)).setAutoPadding(false);
    return Buffer.concat([decipher.update(fragment.subarray(BLOCK)), decipher.final()]);
  }

  seal(type: number, version: number, epoch: number, seq: number, plaintext: Buffer): Buffer {
    if (this.encryptThenMac) {
      const encrypted = this.encrypt(plaintext);
      return Buffer.concat([encrypted, this.mac(epoch, seq, type, version, encrypted)]);
    }
    return this.encrypt(Buffer.concat([plaintext, this.mac(epoch, seq, type, version, plaintext)]));
  }

  open(type: number, version: number, epoch: number, seq: number, fragment: Buffer): Buffer | null {
    try {
      return this.encryptThenMac ? this.openEtm(type, version, epoch, seq, fragment) : this.openMte(type, version, epoch, seq, fragment);
    } catch {
      return null;
    }
  }

  private openEtm(type: number, version: number, epoch: number, seq: number, fragment: Buffer): Buffer | null {
    if (fragment.length < MAC_LENGTH) return null;
    const encrypted = fragment.subarray(0, fragment.length - MAC_LENGTH);
    const mac = fragment.subarray(fragment.length - MAC_LENGTH);
    if (!timingSafeEqual(mac, this.mac(epoch, seq, type, version, encrypted))) return null;
    const padded = this.decrypt(encrypted);
    if (!padded) return null;
    const padLength = padded[padded.length - 1]!;
    if (padLength + 1 > padded.length) return null;
    for (let i = padded.length - 1 - padLength; i < padded.length; i++) if (padded[i] !== padLength) return null;
    return padded.subarray(0, padded.length - padLength - 1);
  }

  /**
   * MAC-then-encrypt: the padding is checked without an early exit and the
   * MAC is computed whatever the padding said, so that a bad padding and a
   * bad MAC look alike (records that fail are dropped silently in DTLS,
   * which leaves only timing to an attacker).
   */
  private openMte(type: number, version: number, epoch: number, seq: number, fragment: Buffer): Buffer | null {
    const padded = this.decrypt(fragment);
    if (!padded || padded.length < MAC_LENGTH + 1) return null;
    let padLength = padded[padded.length - 1]!;
    let good = padLength + 1 + MAC_LENGTH <= padded.length ? 1 : 0;
    if (!good) padLength = 0;
    let diff = 0;
    for (let i = padded.length - 1 - padLength; i < padded.length; i++) diff |= padded[i]! ^ padLength;
    if (diff !== 0) good = 0;
    const dataLength = padded.length - padLength - 1 - MAC_LENGTH;
    const data = padded.subarray(0, dataLength);
    const expected = this.mac(epoch, seq, type, version, data);
    const macOk = timingSafeEqual(expected, padded.subarray(dataLength, dataLength + MAC_LENGTH));
    return macOk && good ? data : null;
  }
}
