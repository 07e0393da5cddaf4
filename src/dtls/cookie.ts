/**
 * Stateless cookies for the HelloVerifyRequest exchange (RFC 6347 §4.2.1):
 * cookie = HMAC-SHA256(secret, client address, port and the ClientHello
 * fields the client must repeat), truncated. The secret rotates; a cookie
 * made with the previous secret is still accepted, so a rotation between the
 * two ClientHellos costs nothing. No state is kept per client.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ClientHello } from './messages.js';

export const COOKIE_LENGTH = 16;

export interface CookieJarOptions {
  /** Rotation period of the secret (ms, default 5 min). */
  rotationMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export class CookieJar {
  private current = randomBytes(32);
  private previous = randomBytes(32);
  private rotatedAt: number;
  private readonly rotationMs: number;
  private readonly now: () => number;

  constructor(options: CookieJarOptions = {}) {
    this.rotationMs = options.rotationMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
    this.rotatedAt = this.now();
  }

  private rotateIfDue(): void {
    const now = this.now();
    if (now - this.rotatedAt < this.rotationMs) return;
    // Two periods or more without a rotation: both secrets are stale.
    this.previous = now - this.rotatedAt >= 2 * this.rotationMs ? randomBytes(32) : this.current;
    this.current = randomBytes(32);
    this.rotatedAt = now;
  }

  private compute(secret: Buffer, host: string, port: number, hello: ClientHello): Buffer {
    const h = createHmac('sha256', secret);
    h.update(`${host}|${port}|`);
    const fixed = Buffer.allocUnsafe(2);
    fixed.writeUInt16BE(hello.version, 0);
    h.update(fixed).update(hello.random).update(Buffer.from([hello.sessionId.length])).update(hello.sessionId);
    const suites = Buffer.allocUnsafe(hello.cipherSuites.length * 2);
    hello.cipherSuites.forEach((s, i) => suites.writeUInt16BE(s, i * 2));
    h.update(suites).update(Buffer.from(hello.compressionMethods));
    return h.digest().subarray(0, COOKIE_LENGTH);
  }

  make(host: string, port: number, hello: ClientHello): Buffer {
    this.rotateIfDue();
    return this.compute(this.current, host, port, hello);
  }

  verify(host: string, port: number, hello: ClientHello): boolean {
    if (hello.cookie.length !== COOKIE_LENGTH) return false;
    this.rotateIfDue();
    return timingSafeEqual(hello.cookie, this.compute(this.current, host, port, hello))
      || timingSafeEqual(hello.cookie, this.compute(this.previous, host, port, hello));
  }
}
