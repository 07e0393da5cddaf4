import assert from 'node:assert/strict';
import {
  decodeUint,
  encodeUint,
  getAccept,
  getContentFormat,
  getETag,
  getLocationPath,
  getObserve,
  getSize1,
  getSize2,
  getUriPath,
  getUriQuery,
  queryStrings,
  setAccept,
  setContentFormat,
  setETag,
  setLocationPath,
  setObserve,
  setSize1,
  setSize2,
  setUriPath,
  setUriQuery,
  splitPath,
  unknownCriticalOption,
  OptionNumber,
} from '../../src/coap/options.js';
import { blockSize, decodeBlock, encodeBlock, getBlock1, getBlock2, setBlock1, setBlock2, szxForSize } from '../../src/coap/block.js';
import { CoapFormatError, CoapMessageError } from '../../src/coap/errors.js';
import { encodeMessage, parseMessage, EMPTY_BUFFER, type CoapOption } from '../../src/coap/packet.js';

describe('coap/options', () => {
  it('writes and reads every helper option through the wire format', () => {
    const o: CoapOption[] = [];
    setUriPath(o, ['rd', '5a3f']);
    setUriQuery(o, ['lt=60', 'b=U']);
    setLocationPath(o, ['rd', 'x1']);
    setContentFormat(o, 11542);
    setAccept(o, 112);
    setObserve(o, 0x1000001); // 24-bit: wraps
    setSize1(o, 1 << 20);
    setSize2(o, 300);
    setETag(o, Buffer.from([1, 2, 3]));
    setBlock1(o, { num: 5000, more: true, szx: 6 });
    setBlock2(o, { num: 3, more: false, szx: 2 });
    const back = parseMessage(encodeMessage({ type: 'CON', code: '0.02', messageId: 1, token: EMPTY_BUFFER, options: o, payload: EMPTY_BUFFER })).options;
    assert.deepEqual(getUriPath(back), ['rd', '5a3f']);
    assert.deepEqual(getUriQuery(back), ['lt=60', 'b=U']);
    assert.deepEqual(getLocationPath(back), ['rd', 'x1']);
    assert.equal(getContentFormat(back), 11542);
    assert.equal(getAccept(back), 112);
    assert.equal(getObserve(back), 1);
    assert.equal(getSize1(back), 1 << 20);
    assert.equal(getSize2(back), 300);
    assert.deepEqual(getETag(back), Buffer.from([1, 2, 3]));
    assert.deepEqual(getBlock1(back), { num: 5000, more: true, szx: 6 });
    assert.deepEqual(getBlock2(back), { num: 3, more: false, szx: 2 });
  });

  it('setters replace earlier values instead of repeating them', () => {
    const o: CoapOption[] = [];
    setContentFormat(o, 0);
    setContentFormat(o, 60);
    setUriPath(o, ['a', 'b']);
    setUriPath(o, ['c']);
    assert.equal(o.filter((x) => x.number === OptionNumber.ContentFormat).length, 1);
    assert.equal(getContentFormat(o), 60);
    assert.deepEqual(getUriPath(o), ['c']);
    setContentFormat(o, undefined);
    assert.equal(getContentFormat(o), undefined);
  });

  it('encodes unsigned integers minimally and rejects overlong values', () => {
    assert.equal(encodeUint(0).length, 0);
    assert.deepEqual(encodeUint(255), Buffer.from([255]));
    assert.deepEqual(encodeUint(256), Buffer.from([1, 0]));
    assert.deepEqual(encodeUint(0xffffffff), Buffer.from([255, 255, 255, 255]));
    assert.throws(() => encodeUint(-1), CoapMessageError);
    assert.throws(() => encodeUint(1.5), CoapMessageError);
    assert.equal(decodeUint(Buffer.from([1, 0, 0]), 3), 65536);
    assert.throws(() => decodeUint(Buffer.from([0, 0, 0]), 2), CoapFormatError);
    assert.throws(() => getContentFormat([{ number: 12, value: Buffer.alloc(3) }]), CoapFormatError);
  });

  it('splits paths and builds queries', () => {
    assert.deepEqual(splitPath('/3/0/1'), ['3', '0', '1']);
    assert.deepEqual(splitPath('rd'), ['rd']);
    assert.deepEqual(splitPath('/'), []);
    assert.deepEqual(splitPath(''), []);
    assert.deepEqual(queryStrings({ ep: 'dev', lt: 60, Q: null, skip: undefined }), ['ep=dev', 'lt=60', 'Q']);
    assert.deepEqual(queryStrings(['a=1']), ['a=1']);
    assert.throws(() => setUriPath([], ['x'.repeat(256)]), CoapMessageError);
  });

  it('finds unknown critical options', () => {
    assert.equal(unknownCriticalOption([{ number: 11, value: EMPTY_BUFFER }, { number: 12, value: EMPTY_BUFFER }]), undefined);
    assert.equal(unknownCriticalOption([{ number: 2048, value: EMPTY_BUFFER }]), undefined); // elective
    assert.equal(unknownCriticalOption([{ number: 9, value: EMPTY_BUFFER }]), 9); // OSCORE: not ours
    assert.equal(unknownCriticalOption([{ number: 2051, value: EMPTY_BUFFER }]), 2051);
  });
});

describe('coap/block', () => {
  it('encodes block values in 0 to 3 bytes', () => {
    assert.equal(encodeBlock({ num: 0, more: false, szx: 0 }).length, 0);
    assert.deepEqual(encodeBlock({ num: 0, more: true, szx: 6 }), Buffer.from([0x0e]));
    assert.deepEqual(encodeBlock({ num: 15, more: false, szx: 6 }), Buffer.from([0xf6]));
    assert.deepEqual(encodeBlock({ num: 16, more: false, szx: 6 }), Buffer.from([0x01, 0x06]));
    assert.deepEqual(encodeBlock({ num: 0xfffff, more: true, szx: 1 }), Buffer.from([0xff, 0xff, 0xf9]));
    for (const b of [
      { num: 0, more: true, szx: 4 },
      { num: 4095, more: false, szx: 0 },
      { num: 4096, more: true, szx: 6 },
    ]) {
      assert.deepEqual(decodeBlock(encodeBlock(b)), b);
    }
  });

  it('rejects SZX 7, long values and out-of-range numbers', () => {
    assert.throws(() => decodeBlock(Buffer.from([0x07])), CoapFormatError);
    assert.throws(() => decodeBlock(Buffer.alloc(4)), CoapFormatError);
    assert.throws(() => encodeBlock({ num: 0x100000, more: false, szx: 0 }), CoapMessageError);
    assert.throws(() => encodeBlock({ num: 0, more: false, szx: 7 }), CoapMessageError);
  });

  it('maps sizes to exponents', () => {
    assert.equal(blockSize(0), 16);
    assert.equal(blockSize(6), 1024);
    assert.equal(szxForSize(1024), 6);
    assert.equal(szxForSize(1000), 5);
    assert.equal(szxForSize(5000), 6);
    assert.equal(szxForSize(1), 0);
  });
});
