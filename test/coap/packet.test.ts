import assert from 'node:assert/strict';
import {
  checkDatagram,
  encodeEmpty,
  encodeMessage,
  encodeWithCoapPacket,
  isRequestCode,
  isResponseCode,
  methodOf,
  parseMessage,
  toRequestCode,
  EMPTY_BUFFER,
  type CoapMessage,
  type CoapOption,
  type MessageType,
} from '../../src/coap/packet.js';
import { CoapFormatError, CoapMessageError } from '../../src/coap/errors.js';
import { Lwm2mError } from '../../src/errors.js';
import { pseudoRandomBytes } from './helpers.js';

function msg(partial: Partial<CoapMessage>): CoapMessage {
  return { type: 'CON', code: '0.01', messageId: 0x1234, token: Buffer.from('a1b2', 'hex'), options: [], payload: EMPTY_BUFFER, ...partial };
}

function expectFormatError(buf: Buffer, kind: string): CoapFormatError {
  let caught: unknown;
  try {
    parseMessage(buf);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CoapFormatError, `expected CoapFormatError for ${buf.toString('hex')}, got ${String(caught)}`);
  assert.ok(caught instanceof Lwm2mError);
  assert.equal(caught.kind, kind);
  assert.equal(caught.code, '4.00');
  return caught;
}

describe('coap/packet', () => {
  it('round-trips every type, method codes and response codes', () => {
    const types: MessageType[] = ['CON', 'NON', 'ACK', 'RST'];
    const codes = ['0.01', '0.02', '0.03', '0.04', '0.05', '0.06', '0.07', '2.01', '2.05', '2.31', '4.04', '4.13', '5.03'];
    for (const type of types) {
      for (const code of codes) {
        const m = msg({ type, code, payload: Buffer.from('hi') });
        const back = parseMessage(encodeMessage(m));
        assert.equal(back.type, type);
        assert.equal(back.code, code);
        assert.equal(back.messageId, 0x1234);
        assert.deepEqual(back.token, m.token);
        assert.deepEqual(back.payload, Buffer.from('hi'));
      }
    }
  });

  it('keeps repeated options in order and sorts options by number', () => {
    const options: CoapOption[] = [
      { number: 15, value: Buffer.from('ep=dev') },
      { number: 11, value: Buffer.from('rd') },
      { number: 11, value: Buffer.from('5a3f') },
      { number: 12, value: Buffer.from([40]) },
      { number: 15, value: Buffer.from('lt=60') },
      { number: 11, value: Buffer.from('x') },
    ];
    const back = parseMessage(encodeMessage(msg({ options })));
    assert.deepEqual(
      back.options.map((o) => [o.number, o.value.toString('latin1')]),
      [
        [11, 'rd'],
        [11, '5a3f'],
        [11, 'x'],
        [12, '('],
        [15, 'ep=dev'],
        [15, 'lt=60'],
      ],
    );
  });

  it('encodes exactly what coap-packet generate() produces', () => {
    // Option numbers chosen to hit 4-bit, 8-bit and 16-bit deltas and lengths.
    const numbers = [1, 4, 6, 8, 11, 12, 14, 15, 17, 23, 27, 28, 60, 258, 2049, 65000];
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 300; i++) {
      const options: CoapOption[] = [];
      const count = rnd(6);
      for (let k = 0; k < count; k++) {
        const len = [0, 1, 12, 13, 268, 269, 400][rnd(7)]!;
        options.push({ number: numbers[rnd(numbers.length)]!, value: pseudoRandomBytes(len, i * 31 + k + 1) });
      }
      const m = msg({
        type: (['CON', 'NON', 'ACK', 'RST'] as const)[rnd(4)],
        code: ['0.01', '0.02', '2.05', '4.04', '5.00'][rnd(5)],
        messageId: rnd(65536),
        token: pseudoRandomBytes(rnd(9), i + 1),
        options,
        payload: rnd(2) ? pseudoRandomBytes(rnd(1500) + 1, i + 100) : EMPTY_BUFFER,
      });
      const ours = encodeMessage(m);
      assert.deepEqual(ours, encodeWithCoapPacket(m), `message ${i} differs`);
      const back = parseMessage(ours);
      assert.equal(back.options.length, options.length);
    }
  });

  it('encodes and parses empty messages (4 bytes)', () => {
    const ping = encodeEmpty('CON', 0xbeef);
    assert.deepEqual(ping, Buffer.from([0x40, 0x00, 0xbe, 0xef]));
    const rst = parseMessage(encodeEmpty('RST', 7));
    assert.equal(rst.type, 'RST');
    assert.equal(rst.code, '0.00');
    assert.equal(rst.messageId, 7);
    assert.equal(rst.token.length, 0);
    assert.throws(() => encodeMessage(msg({ code: '0.00' })), CoapMessageError);
  });

  it('refuses to encode values CoAP cannot carry', () => {
    assert.throws(() => encodeMessage(msg({ code: '9.99' })), CoapMessageError);
    assert.throws(() => encodeMessage(msg({ code: '2.5' })), CoapMessageError);
    assert.throws(() => encodeMessage(msg({ token: Buffer.alloc(9) })), CoapMessageError);
    assert.throws(() => encodeMessage(msg({ messageId: 70000 })), CoapMessageError);
    assert.throws(() => encodeMessage(msg({ options: [{ number: -1, value: EMPTY_BUFFER }] })), CoapMessageError);
    assert.throws(() => encodeMessage(msg({ options: [{ number: 70000, value: EMPTY_BUFFER }] })), CoapMessageError);
    assert.throws(() => encodeMessage(msg({ payload: Buffer.alloc(70000) })), CoapMessageError);
  });

  it('rejects malformed datagrams with typed errors', () => {
    expectFormatError(Buffer.alloc(0), 'truncated-header');
    expectFormatError(Buffer.from([0x40, 0x01, 0x00]), 'truncated-header');
    expectFormatError(Buffer.from([0x80, 0x01, 0x00, 0x01]), 'version');
    const tkl = expectFormatError(Buffer.from([0x49, 0x01, 0x12, 0x34, 1, 2, 3, 4, 5, 6, 7, 8, 9]), 'token-length');
    assert.equal(tkl.messageId, 0x1234);
    assert.equal(tkl.confirmable, true);
    expectFormatError(Buffer.from([0x44, 0x01, 0x00, 0x01, 1, 2]), 'truncated-token');
    expectFormatError(Buffer.from([0x40, 0x00, 0x00, 0x01, 0xff]), 'empty-not-empty');
    expectFormatError(Buffer.from([0x41, 0x00, 0x00, 0x01, 0xaa]), 'empty-not-empty');
    expectFormatError(Buffer.from([0x50, 0x21, 0x00, 0x01]), 'reserved-code'); // 1.01
    expectFormatError(Buffer.from([0x50, 0x61, 0x00, 0x01]), 'reserved-code'); // 3.01
    expectFormatError(Buffer.from([0x50, 0xe1, 0x00, 0x01]), 'reserved-code'); // 7.01
    expectFormatError(Buffer.from([0x40, 0x01, 0x00, 0x01, 0xff]), 'payload-marker');
    expectFormatError(Buffer.from([0x40, 0x01, 0x00, 0x01, 0xb5, 0x61]), 'option'); // value runs past the end
    expectFormatError(Buffer.from([0x40, 0x01, 0x00, 0x01, 0xd0]), 'option'); // missing extended delta
    expectFormatError(Buffer.from([0x40, 0x01, 0x00, 0x01, 0xe0, 0x01]), 'option'); // short 16-bit delta
    expectFormatError(Buffer.from([0x40, 0x01, 0x00, 0x01, 0x0d]), 'option'); // missing extended length
    expectFormatError(Buffer.from([0x40, 0x01, 0x00, 0x01, 0xf1, 0x00]), 'option'); // delta nibble 15
    expectFormatError(Buffer.from([0x40, 0x01, 0x00, 0x01, 0x1f]), 'option'); // length nibble 15
    // Option number above 65535 through two 16-bit deltas.
    expectFormatError(Buffer.from([0x40, 0x01, 0x00, 0x01, 0xe0, 0x80, 0x00, 0xe0, 0x80, 0x00]), 'option');
  });

  it('never throws anything but CoapFormatError on random bytes', () => {
    for (let i = 0; i < 3000; i++) {
      const len = i % 40;
      const buf = pseudoRandomBytes(len, i + 1);
      if (len >= 1) buf[0] = (buf[0]! & 0x3f) | 0x40; // mostly version 1 so that deeper checks run
      try {
        const m = parseMessage(buf);
        // Whatever parses must re-encode to the same bytes.
        assert.deepEqual(encodeMessage(m), buf);
      } catch (err) {
        assert.ok(err instanceof CoapFormatError, `datagram ${buf.toString('hex')} threw ${String(err)}`);
      }
    }
  });

  it('checkDatagram accepts every message the encoder produces', () => {
    const m = msg({ options: [{ number: 2049, value: Buffer.alloc(300, 1) }], payload: Buffer.from('x') });
    checkDatagram(encodeMessage(m));
  });

  it('maps methods and codes', () => {
    assert.equal(methodOf('0.05'), 'FETCH');
    assert.equal(methodOf('0.07'), 'iPATCH');
    assert.equal(methodOf('0.09'), undefined);
    assert.equal(toRequestCode('PATCH'), '0.06');
    assert.equal(toRequestCode('0.02'), '0.02');
    assert.throws(() => toRequestCode('2.05'), CoapMessageError);
    assert.throws(() => toRequestCode('BREW'), CoapMessageError);
    assert.equal(isRequestCode('0.00'), false);
    assert.equal(isResponseCode('2.31'), true);
    assert.equal(isResponseCode('3.01'), false);
  });
});
