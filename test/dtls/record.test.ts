import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createProtection, keyBlockLength, PSK_AES_128_CCM_8, splitKeyBlock } from '../../src/dtls/cipher-suites.js';
import { ContentType, DTLS_1_0, DTLS_1_2, MAX_CIPHERTEXT_LENGTH, MAX_SEQUENCE } from '../../src/dtls/constants.js';
import { DtlsError } from '../../src/dtls/errors.js';
import { RecordLayer } from '../../src/dtls/record-layer.js';
import { additionalData, encodeRecord, parseDatagram } from '../../src/dtls/record.js';
import { ReplayWindow } from '../../src/dtls/replay-window.js';

describe('dtls/record framing', () => {
  it('reads several records of one datagram, with their epochs and 48-bit sequence numbers', () => {
    const a = encodeRecord(ContentType.Handshake, DTLS_1_0, 0, 7, Buffer.from('abc'));
    const b = encodeRecord(ContentType.ApplicationData, DTLS_1_2, 1, 2 ** 48 - 1, Buffer.from('defg'));
    const { records, problem } = parseDatagram(Buffer.concat([a, b]));
    assert.equal(problem, undefined);
    assert.equal(records.length, 2);
    assert.deepEqual(records.map((r) => [r.type, r.version, r.epoch, r.seq, r.fragment.toString()]), [
      [22, DTLS_1_0, 0, 7, 'abc'],
      [23, DTLS_1_2, 1, 2 ** 48 - 1, 'defg'],
    ]);
  });

  it('keeps the records before a broken one and says why it stopped', () => {
    const good = encodeRecord(ContentType.Alert, DTLS_1_2, 1, 1, Buffer.from([1, 0]));
    const truncated = encodeRecord(ContentType.Alert, DTLS_1_2, 1, 2, Buffer.from([1, 0])).subarray(0, 14);
    assert.deepEqual(parseDatagram(Buffer.concat([good, truncated])).problem, 'truncated');
    assert.equal(parseDatagram(Buffer.concat([good, truncated])).records.length, 1);
    const badVersion = Buffer.from(good);
    badVersion.writeUInt16BE(0x0303, 1);
    assert.equal(parseDatagram(badVersion).problem, 'version');
    const badType = Buffer.from(good);
    badType[0] = 99;
    assert.equal(parseDatagram(badType).problem, 'content-type');
    assert.equal(parseDatagram(Buffer.alloc(5)).problem, 'truncated');
  });

  it('refuses a record longer than 2^14 + 2048 bytes', () => {
    const big = encodeRecord(ContentType.ApplicationData, DTLS_1_2, 1, 1, Buffer.alloc(MAX_CIPHERTEXT_LENGTH + 1));
    assert.deepEqual(parseDatagram(big), { records: [], problem: 'too-long' });
    const max = encodeRecord(ContentType.ApplicationData, DTLS_1_2, 1, 1, Buffer.alloc(MAX_CIPHERTEXT_LENGTH));
    assert.equal(parseDatagram(max).records.length, 1);
  });

  it('builds the 13-byte additional data: epoch, sequence, type, version, length', () => {
    assert.equal(additionalData(1, 0x010203040506, 23, DTLS_1_2, 0x1234).toString('hex'), '0001' + '010203040506' + '17' + 'fefd' + '1234');
  });
});

describe('dtls/replay window', () => {
  it('accepts new numbers, refuses repeats and numbers left of the 64-wide window', () => {
    const w = new ReplayWindow();
    assert.ok(w.check(0));
    w.accept(0);
    assert.ok(!w.check(0));
    w.accept(100);
    assert.ok(!w.check(36), '100 - 36 = 64: outside the window');
    assert.ok(w.check(37), 'inside the window and never seen');
    w.accept(37);
    assert.ok(!w.check(37));
    assert.ok(w.check(99));
    assert.ok(!w.check(100));
    assert.ok(w.check(101));
  });

  it('accepts out-of-order records once each', () => {
    const w = new ReplayWindow();
    const order = [5, 3, 9, 4, 1, 2, 8, 6, 7, 0];
    for (const n of order) {
      assert.ok(w.check(n), `first ${n}`);
      w.accept(n);
    }
    for (const n of order) assert.ok(!w.check(n), `repeat ${n}`);
  });

  it('clears slots that the window slides over, also after a jump', () => {
    const w = new ReplayWindow();
    w.accept(1);
    w.accept(65); // slot of 1 is reused by 65
    assert.ok(!w.check(1), 'too old now');
    assert.ok(w.check(64), 'never seen');
    w.accept(1000);
    for (const n of [937, 999, 950]) assert.ok(w.check(n), `${n} is new`);
    assert.ok(!w.check(936));
    assert.equal(w.highest, 1000);
  });

  it('only moves when told: a checked but unauthenticated number stays acceptable', () => {
    const w = new ReplayWindow();
    assert.ok(w.check(10));
    assert.ok(w.check(10));
    assert.equal(w.highest, -1);
  });
});

describe('dtls/record layer state', () => {
  const suite = PSK_AES_128_CCM_8;
  const keys = splitKeyBlock(suite, randomBytes(keyBlockLength(suite)));

  function pair(): { sender: RecordLayer; receiver: RecordLayer } {
    const sender = new RecordLayer();
    const receiver = new RecordLayer();
    sender.startWriteEpoch(createProtection(suite, keys.client, false));
    receiver.setPendingRead(createProtection(suite, keys.client, false));
    return { sender, receiver };
  }

  const first = (datagram: Buffer) => parseDatagram(datagram).records[0]!;

  it('passes epoch 0 as plaintext and drops records of an epoch not reached yet', () => {
    const { sender, receiver } = pair();
    const plain = first(sender.seal(ContentType.Handshake, 0, Buffer.from('hello')));
    assert.deepEqual(receiver.open(plain), { plaintext: Buffer.from('hello') });
    const protectedRecord = first(sender.seal(ContentType.ApplicationData, 1, Buffer.from('data')));
    assert.deepEqual(receiver.open(protectedRecord), { drop: 'epoch' });
    receiver.activatePendingRead();
    assert.equal(receiver.currentReadEpoch, 1);
    assert.deepEqual(receiver.open(protectedRecord), { plaintext: Buffer.from('data') });
  });

  it('numbers records per epoch and drops a replay; a forged record does not move the window', () => {
    const { sender, receiver } = pair();
    receiver.activatePendingRead();
    const records = [0, 1, 2].map((i) => first(sender.seal(ContentType.ApplicationData, 1, Buffer.from(`m${i}`))));
    assert.deepEqual(records.map((r) => r.seq), [0, 1, 2]);
    assert.equal(first(sender.seal(ContentType.Handshake, 0, Buffer.alloc(1))).seq, 0, 'epoch 0 has its own numbers');
    const forged = { ...records[2]!, seq: 1000, fragment: Buffer.from(records[2]!.fragment) };
    forged.fragment[10]! ^= 1;
    assert.deepEqual(receiver.open(forged), { drop: 'unauthenticated' });
    for (const r of [records[2]!, records[0]!, records[1]!]) assert.ok('plaintext' in receiver.open(r));
    assert.deepEqual(receiver.open(records[1]!), { drop: 'replay' });
  });

  it('refuses to wrap the 48-bit sequence number', () => {
    const layer = new RecordLayer();
    layer.setEpochZeroSequence(MAX_SEQUENCE);
    assert.equal(first(layer.seal(ContentType.Alert, 0, Buffer.from([1, 0]))).seq, MAX_SEQUENCE);
    assert.throws(() => layer.seal(ContentType.Alert, 0, Buffer.from([1, 0])), DtlsError);
  });
});
