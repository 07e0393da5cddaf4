import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CookieJar, COOKIE_LENGTH } from '../../src/dtls/cookie.js';
import type { ClientHello } from '../../src/dtls/messages.js';

function hello(cookie: Buffer = Buffer.alloc(0)): ClientHello {
  return { version: 0xfefd, random: Buffer.alloc(32, 7), sessionId: Buffer.alloc(0), cookie, cipherSuites: [0xc0a8], compressionMethods: [0], extensions: [] };
}

describe('dtls/cookie', () => {
  it('verifies its own cookie for the same address, port and hello parameters only', () => {
    const jar = new CookieJar();
    const cookie = jar.make('192.0.2.1', 5000, hello());
    assert.equal(cookie.length, COOKIE_LENGTH);
    assert.ok(jar.verify('192.0.2.1', 5000, hello(cookie)));
    assert.ok(!jar.verify('192.0.2.1', 5001, hello(cookie)), 'other port');
    assert.ok(!jar.verify('192.0.2.2', 5000, hello(cookie)), 'other host');
    assert.ok(!jar.verify('192.0.2.1', 5000, { ...hello(cookie), random: Buffer.alloc(32, 8) }), 'other random');
    assert.ok(!jar.verify('192.0.2.1', 5000, { ...hello(cookie), cipherSuites: [0x00a8] }), 'other suites');
    assert.ok(!jar.verify('192.0.2.1', 5000, hello(randomBytes(COOKIE_LENGTH))), 'forged');
    assert.ok(!jar.verify('192.0.2.1', 5000, hello()), 'empty');
    assert.ok(!new CookieJar().verify('192.0.2.1', 5000, hello(cookie)), 'another server secret');
  });

  it('accepts a cookie across one rotation of the secret, not across two', () => {
    let now = 0;
    const jar = new CookieJar({ rotationMs: 1000, now: () => now });
    const cookie = jar.make('::1', 1, hello());
    now = 1500;
    assert.ok(jar.verify('::1', 1, hello(cookie)), 'previous secret still accepted');
    now = 2600;
    assert.ok(!jar.verify('::1', 1, hello(cookie)), 'two rotations later');
    const late = jar.make('::1', 1, hello());
    now = 10_000; // long silence: both secrets are replaced at once
    assert.ok(!jar.verify('::1', 1, hello(late)));
  });
});
