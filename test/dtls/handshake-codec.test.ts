import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { HandshakeType } from '../../src/dtls/constants.js';
import { DtlsDecodeError } from '../../src/dtls/errors.js';
import { encodeHandshake, fragmentHandshake, parseHandshakeFragments } from '../../src/dtls/handshake.js';
import {
  decodeClientHello, decodeHelloVerifyRequest, decodePskField, decodeServerHello, encodeClientHello, encodeHelloVerifyRequest, encodePskField, encodeServerHello, type ClientHello,
} from '../../src/dtls/messages.js';
import { HandshakeReassembler } from '../../src/dtls/reassembler.js';

const hello: ClientHello = {
  version: 0xfefd,
  random: randomBytes(32),
  sessionId: Buffer.alloc(0),
  cookie: Buffer.from('0123456789abcdef'),
  cipherSuites: [0xc0a8, 0x00a8, 0x00ff],
  compressionMethods: [0],
  extensions: [{ type: 23, data: Buffer.alloc(0) }, { type: 0xff01, data: Buffer.from([0]) }],
};

describe('dtls/handshake framing', () => {
  it('splits a message into fragments that reassemble in any order, with overlaps', () => {
    const body = randomBytes(1000);
    const pieces = fragmentHandshake({ type: HandshakeType.ClientKeyExchange, messageSeq: 3, body }, 100);
    assert.equal(pieces.length, 10);
    const fragments = pieces.flatMap((p) => parseHandshakeFragments(p));
    assert.deepEqual(fragments.map((f) => f.offset), [0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    const r = new HandshakeReassembler(3);
    const shuffled = [fragments[9]!, fragments[0]!, fragments[5]!, fragments[5]!, ...fragments.slice(1, 5), ...fragments.slice(6, 9)];
    for (const f of shuffled.slice(0, -1)) {
      assert.equal(r.add(f), 'stored');
      assert.equal(r.take(), undefined);
    }
    r.add(shuffled[shuffled.length - 1]!);
    const message = r.take()!;
    assert.equal(message.messageSeq, 3);
    assert.equal(message.type, HandshakeType.ClientKeyExchange);
    assert.deepEqual(message.body, body);
    assert.equal(r.nextSeq, 4);
    assert.equal(r.add(fragments[0]!), 'old');
  });

  it('releases messages in message_seq order only, and ignores those too far ahead', () => {
    const r = new HandshakeReassembler(0);
    const m = (seq: number): Buffer => encodeHandshake({ type: 14, messageSeq: seq, body: Buffer.alloc(0) });
    r.add(parseHandshakeFragments(m(1))[0]!);
    assert.equal(r.take(), undefined, 'message 0 is missing');
    r.add(parseHandshakeFragments(m(0))[0]!);
    assert.equal(r.take()!.messageSeq, 0);
    assert.equal(r.take()!.messageSeq, 1);
    assert.equal(r.add(parseHandshakeFragments(m(50))[0]!), 'ignored');
    assert.equal(r.bufferedBytes, 0);
  });

  it('keeps at most its byte budget of unfinished messages', () => {
    const r = new HandshakeReassembler(0, 1000);
    const piece = (seq: number, length: number) => parseHandshakeFragments(fragmentHandshake({ type: 16, messageSeq: seq, body: Buffer.alloc(length) }, 100)[0]!)[0]!;
    assert.equal(r.add(piece(1, 600)), 'stored');
    assert.equal(r.add(piece(2, 600)), 'ignored', 'over budget');
    assert.equal(r.bufferedBytes, 600);
    assert.equal(r.add(piece(0, 400)), 'stored');
    assert.equal(r.bufferedBytes, 1000);
    r.clearPending();
    assert.equal(r.bufferedBytes, 0);
    assert.equal(r.add(piece(2, 600)), 'stored');
  });

  it('refuses fragments of one message that disagree on its length', () => {
    const r = new HandshakeReassembler(0);
    const [a] = parseHandshakeFragments(fragmentHandshake({ type: 1, messageSeq: 0, body: Buffer.alloc(40) }, 20)[0]!);
    const [b] = parseHandshakeFragments(fragmentHandshake({ type: 1, messageSeq: 0, body: Buffer.alloc(60) }, 20)[1]!);
    r.add(a!);
    assert.throws(() => r.add(b!), DtlsDecodeError);
  });

  it('rejects malformed fragment headers with DtlsDecodeError', () => {
    const good = encodeHandshake({ type: 1, messageSeq: 0, body: Buffer.from('abcdef') });
    assert.throws(() => parseHandshakeFragments(good.subarray(0, 11)), DtlsDecodeError);
    assert.throws(() => parseHandshakeFragments(good.subarray(0, good.length - 1)), DtlsDecodeError);
    const beyond = Buffer.from(good);
    beyond.writeUIntBE(3, 6, 3); // offset 3 + 6 bytes > length 6
    assert.throws(() => parseHandshakeFragments(beyond), DtlsDecodeError);
  });
});

describe('dtls/handshake messages', () => {
  it('round-trips a ClientHello', () => {
    assert.deepEqual(decodeClientHello(encodeClientHello(hello)), hello);
  });

  it('round-trips ServerHello, HelloVerifyRequest and the PSK fields', () => {
    const sh = { version: 0xfefd, random: randomBytes(32), sessionId: Buffer.alloc(0), cipherSuite: 0xc0a8, compressionMethod: 0, extensions: [{ type: 0xff01, data: Buffer.from([0]) }] };
    assert.deepEqual(decodeServerHello(encodeServerHello(sh)), sh);
    assert.deepEqual(decodeServerHello(encodeServerHello({ ...sh, extensions: [] })).extensions, []);
    assert.deepEqual(decodeHelloVerifyRequest(encodeHelloVerifyRequest(Buffer.from('cookie'))), { version: 0xfeff, cookie: Buffer.from('cookie') });
    assert.equal(decodePskField(encodePskField(Buffer.from('identity')), 'x').toString(), 'identity');
  });

  it('throws DtlsDecodeError (never a RangeError) for every truncation and for trailing bytes', () => {
    const bytes = encodeClientHello(hello);
    const withoutExtensions = encodeClientHello({ ...hello, extensions: [] }).length;
    for (let n = 0; n < bytes.length; n++) {
      if (n === withoutExtensions) {
        assert.deepEqual(decodeClientHello(bytes.subarray(0, n)).extensions, [], 'the extensions block may be absent');
        continue;
      }
      assert.throws(() => decodeClientHello(bytes.subarray(0, n)), DtlsDecodeError, `length ${n}`);
    }
    assert.throws(() => decodeClientHello(Buffer.concat([bytes, Buffer.from([0])])), DtlsDecodeError);
    assert.throws(() => decodePskField(Buffer.from([0, 5, 1]), 'ClientKeyExchange'), DtlsDecodeError);
    assert.throws(() => decodeHelloVerifyRequest(Buffer.from([0xfe, 0xff, 0])), DtlsDecodeError);
  });

  it('refuses a ClientHello with an odd cipher suite list, no compression or a repeated extension', () => {
    const odd = encodeClientHello(hello);
    // cipher_suites length sits after version(2) random(32) session_id(1) cookie(1+16)
    odd.writeUInt16BE(5, 52);
    assert.throws(() => decodeClientHello(odd), DtlsDecodeError);
    assert.throws(() => decodeClientHello(encodeClientHello({ ...hello, compressionMethods: [] })), DtlsDecodeError);
    assert.throws(() => decodeClientHello(encodeClientHello({ ...hello, extensions: [{ type: 23, data: Buffer.alloc(0) }, { type: 23, data: Buffer.alloc(0) }] })), DtlsDecodeError);
  });

  it('survives random bytes with DtlsDecodeError or a value, nothing else', () => {
    for (let i = 0; i < 2000; i++) {
      const junk = randomBytes(1 + (i % 120));
      for (const decode of [decodeClientHello, decodeServerHello, decodeHelloVerifyRequest, parseHandshakeFragments]) {
        try {
          decode(junk);
        } catch (err) {
          assert.ok(err instanceof DtlsDecodeError, `${decode.name}: ${(err as Error).name}: ${(err as Error).message}`);
        }
      }
    }
  });
});
