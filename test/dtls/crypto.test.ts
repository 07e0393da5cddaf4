import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createProtection, PSK_AES_128_CBC_SHA256, PSK_AES_128_CCM_8, PSK_AES_128_GCM_SHA256, splitKeyBlock, keyBlockLength } from '../../src/dtls/cipher-suites.js';
import { ContentType, DTLS_1_2 } from '../../src/dtls/constants.js';
import { extendedMasterSecret, finishedVerifyData, masterSecret, prf, pskPremasterSecret } from '../../src/dtls/prf.js';

describe('dtls/prf', () => {
  it('matches the TLS 1.2 SHA-256 PRF (vector checked with `openssl kdf TLS1-PRF`)', () => {
    const out = prf(Buffer.from('9bbe436ba940f017b17652849a71db35', 'hex'), 'test label', Buffer.from('a0ba9f936cda311827a6f796ffd5198c', 'hex'), 100);
    assert.equal(out.toString('hex'),
      'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4f'
      + 'bc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66');
  });

  it('builds the PSK premaster secret as N, N zeros, N, key (RFC 4279)', () => {
    assert.equal(pskPremasterSecret(Buffer.from('abc')).toString('hex'), '0003' + '000000' + '0003' + '616263');
  });

  it('derives 48-byte master secrets; the extended one depends on the session hash only', () => {
    const pms = pskPremasterSecret(Buffer.from('k'));
    const r1 = randomBytes(32);
    const r2 = randomBytes(32);
    assert.equal(masterSecret(pms, r1, r2).length, 48);
    assert.notDeepEqual(masterSecret(pms, r1, r2), masterSecret(pms, r2, r1));
    const h = randomBytes(32);
    assert.deepEqual(extendedMasterSecret(pms, h), prf(pms, 'extended master secret', h, 48));
    assert.equal(finishedVerifyData(masterSecret(pms, r1, r2), 'client', h).length, 12);
    assert.notDeepEqual(finishedVerifyData(masterSecret(pms, r1, r2), 'client', h), finishedVerifyData(masterSecret(pms, r1, r2), 'server', h));
  });
});

describe('dtls/record protection', () => {
  const cases = [
    { suite: PSK_AES_128_CCM_8, etm: false, overhead: 16 },
    { suite: PSK_AES_128_GCM_SHA256, etm: false, overhead: 24 },
    { suite: PSK_AES_128_CBC_SHA256, etm: false, overhead: 64 },
    { suite: PSK_AES_128_CBC_SHA256, etm: true, overhead: 64 },
  ];
  for (const { suite, etm, overhead } of cases) {
    describe(`${suite.name}${etm ? ' (encrypt-then-MAC)' : ''}`, () => {
      const block = randomBytes(keyBlockLength(suite));
      const { client } = splitKeyBlock(suite, block);
      const p = createProtection(suite, client, etm);

      it('opens what it sealed, for empty to large plaintexts', () => {
        for (const n of [0, 1, 15, 16, 17, 31, 32, 33, 1000, 16384]) {
          const plain = randomBytes(n);
          const sealed = p.seal(ContentType.ApplicationData, DTLS_1_2, 1, 42 + n, plain);
          assert.ok(sealed.length <= n + p.overhead, `overhead for ${n}`);
          assert.deepEqual(p.open(ContentType.ApplicationData, DTLS_1_2, 1, 42 + n, sealed), plain);
        }
        assert.equal(p.overhead, overhead);
      });

      it('refuses a record with any byte altered, or under another sequence number, epoch or type', () => {
        const plain = Buffer.from('a CoAP message');
        const sealed = p.seal(ContentType.ApplicationData, DTLS_1_2, 1, 5, plain);
        for (let i = 0; i < sealed.length; i++) {
          const bad = Buffer.from(sealed);
          bad[i]! ^= 0x01;
          assert.equal(p.open(ContentType.ApplicationData, DTLS_1_2, 1, 5, bad), null, `byte ${i}`);
        }
        assert.equal(p.open(ContentType.ApplicationData, DTLS_1_2, 1, 6, sealed), null);
        assert.equal(p.open(ContentType.ApplicationData, DTLS_1_2, 2, 5, sealed), null);
        assert.equal(p.open(ContentType.Alert, DTLS_1_2, 1, 5, sealed), null);
        assert.equal(p.open(ContentType.ApplicationData, DTLS_1_2, 1, 5, sealed.subarray(0, sealed.length - 1)), null);
        assert.equal(p.open(ContentType.ApplicationData, DTLS_1_2, 1, 5, Buffer.alloc(0)), null);
      });

      it('cannot open records of the other direction (other keys)', () => {
        const { server } = splitKeyBlock(suite, block);
        const other = createProtection(suite, server, etm);
        const sealed = p.seal(ContentType.ApplicationData, DTLS_1_2, 1, 1, Buffer.from('x'));
        assert.equal(other.open(ContentType.ApplicationData, DTLS_1_2, 1, 1, sealed), null);
      });
    });
  }

  it('splits the key block in RFC 5246 order (MAC keys, keys, IVs)', () => {
    const block = Buffer.from(Array.from({ length: keyBlockLength(PSK_AES_128_CCM_8) }, (_, i) => i));
    const { client, server } = splitKeyBlock(PSK_AES_128_CCM_8, block);
    assert.equal(client.key[0], 0);
    assert.equal(server.key[0], 16);
    assert.deepEqual([...client.iv], [32, 33, 34, 35]);
    assert.deepEqual([...server.iv], [36, 37, 38, 39]);
    assert.equal(keyBlockLength(PSK_AES_128_CBC_SHA256), 96);
  });
});
