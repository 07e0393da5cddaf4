import assert from 'node:assert/strict';
import { Lwm2mError } from '../../src/errors.js';
import {
  applyUpdate,
  DEFAULT_LIFETIME,
  findObject,
  newRegistrationId,
  objectVersions,
  parseRegisterRequest,
  type PeerInfo,
  type Registration,
} from '../../src/server/registration.js';

const NOW = 1_700_000_000_000;
const PEER: PeerInfo = { key: 'udp:192.0.2.10:56830', host: '192.0.2.10', port: 56830 };

/** Asserts that `fn` throws an Lwm2mError with `code`. */
function assertCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof Lwm2mError, `expected Lwm2mError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe('server-store: parseRegisterRequest', () => {
  it('reads a LwM2M 1.0 Register with queue mode in the binding (b=UQ)', () => {
    // As a Wakaama 1.0 client sends it.
    const reg = parseRegisterRequest(
      { ep: 'testlwm2mclient', lt: '300', lwm2m: '1.0', b: 'UQ' },
      '</>;rt="oma.lwm2m";ct=11543,</1/0>,</2/0>,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>,</31024/10>,</31024/11>,</31024/12>',
      { now: NOW, peer: PEER },
    );
    assert.equal(reg.endpoint, 'testlwm2mclient');
    assert.equal(reg.lifetime, 300);
    assert.equal(reg.lwm2mVersion, '1.0');
    assert.equal(reg.binding, 'UQ');
    assert.equal(reg.queueMode, true);
    assert.equal(reg.rootPath, '/');
    assert.equal(reg.preferredFormat, 11543);
    assert.deepEqual(reg.supportedFormats, [11543]);
    assert.deepEqual(
      reg.objects.map((o) => o.id),
      [1, 2, 3, 4, 5, 6, 7, 31024],
    );
    assert.deepEqual(findObject(reg, 31024), { id: 31024, instances: [10, 11, 12] });
    assert.deepEqual(reg.extraAttributes, {});
    assert.deepEqual(reg.peer, PEER);
    assert.equal(reg.registeredAt, NOW);
    assert.equal(reg.updatedAt, NOW);
    assert.equal(reg.expiresAt, NOW + 300_000);
    assert.equal(reg.smsNumber, undefined);
  });

  it('reads a LwM2M 1.1 Register with the Q parameter and object versions', () => {
    const reg = parseRegisterRequest(
      { ep: 'leshan-client', lt: '60', lwm2m: '1.1', b: 'U', Q: true },
      '</>;rt="oma.lwm2m";ct=110,</1>;ver=1.1,</1/0>,</3>;ver=1.1,</3/0>,</6/0>,</3303>;ver=1.1,</3303/0>,</3303/1>',
      { now: NOW },
    );
    assert.equal(reg.lwm2mVersion, '1.1');
    assert.equal(reg.binding, 'U');
    assert.equal(reg.queueMode, true);
    assert.equal(reg.preferredFormat, 110);
    assert.deepEqual(reg.objects, [
      { id: 1, version: '1.1', instances: [0] },
      { id: 3, version: '1.1', instances: [0] },
      { id: 6, instances: [0] },
      { id: 3303, version: '1.1', instances: [0, 1] },
    ]);
    assert.deepEqual(
      objectVersions(reg),
      new Map([
        [1, '1.1'],
        [3, '1.1'],
        [6, '1.0'],
        [3303, '1.1'],
      ]),
    );
  });

  it('1.1 without Q is not in queue mode, and Q in a 1.0 query is kept as an extra parameter', () => {
    const plain = parseRegisterRequest({ ep: 'a', lwm2m: '1.1', b: 'U' }, '</3/0>');
    assert.equal(plain.queueMode, false);
    const old = parseRegisterRequest({ ep: 'b', lwm2m: '1.0', b: 'U', Q: true }, '</3/0>');
    assert.equal(old.queueMode, false);
    assert.deepEqual(old.extraAttributes.query, { Q: true });
  });

  it('reads a LwM2M 1.2 Register with a list of content formats', () => {
    const reg = parseRegisterRequest(
      new Map<string, string | true>([
        ['ep', 'urn:dev:os:0023C7-000001'],
        ['lt', '86400'],
        ['lwm2m', '1.2'],
        ['b', 'UT'],
      ]),
      '</>;rt="oma.lwm2m";ct="11544 112 110 60",</1>;ver=1.2,</1/1>,</3>;ver=1.2,</3/0>,</5/0>,</10/0>',
      { now: NOW },
    );
    assert.equal(reg.lwm2mVersion, '1.2');
    assert.equal(reg.binding, 'UT');
    assert.equal(reg.queueMode, false);
    assert.equal(reg.preferredFormat, 11544);
    assert.deepEqual(reg.supportedFormats, [11544, 112, 110, 60]);
    assert.deepEqual(findObject(reg, 1), { id: 1, version: '1.2', instances: [1] });
    assert.deepEqual(findObject(reg, 10), { id: 10, instances: [0] });
    assert.equal(findObject(reg, 4), undefined);
  });

  it('accepts the 1.2 binding letters M and H, and SMS with its number', () => {
    const reg = parseRegisterRequest({ ep: 'x', lwm2m: '1.2', b: 'MH' }, '');
    assert.equal(reg.binding, 'MH');
    const sms = parseRegisterRequest({ ep: 'y', lwm2m: '1.1', b: 'US', sms: '+15550100' }, '');
    assert.equal(sms.smsNumber, '+15550100');
    assert.deepEqual(sms.objects, []);
  });

  it('reads objects under an alternate root path', () => {
    const reg = parseRegisterRequest(
      { ep: 'alt', lwm2m: '1.1' },
      '</lwm2m>;rt="oma.lwm2m";ct=11543,</lwm2m/1/0>,</lwm2m/3/0>,</lwm2m/5>;ver=1.1,</lwm2m/5/0>,</other/thing>;if="sensor"',
    );
    assert.equal(reg.rootPath, '/lwm2m');
    assert.equal(reg.preferredFormat, 11543);
    assert.deepEqual(reg.objects, [
      { id: 1, instances: [0] },
      { id: 3, instances: [0] },
      { id: 5, version: '1.1', instances: [0] },
    ]);
    // A link outside the root path is not an object, but it is kept.
    assert.deepEqual(reg.extraAttributes.links, { '/other/thing': { if: 'sensor' } });
  });

  it('does not take numeric links outside the alternate root path as objects', () => {
    const reg = parseRegisterRequest({ ep: 'alt' }, '</lwm2m/>;rt="oma.lwm2m",</3/0>,</lwm2m/4/0>');
    assert.equal(reg.rootPath, '/lwm2m');
    assert.deepEqual(reg.objects, [{ id: 4, instances: [0] }]);
    assert.deepEqual(reg.extraAttributes.links, { '/3/0': {} });
  });

  it('applies the defaults: lifetime 86400, version 1.0, binding U, root /', () => {
    const reg = parseRegisterRequest({ ep: 'minimal' }, '</3/0>', { now: NOW });
    assert.equal(reg.lifetime, DEFAULT_LIFETIME);
    assert.equal(reg.lwm2mVersion, '1.0');
    assert.equal(reg.binding, 'U');
    assert.equal(reg.queueMode, false);
    assert.equal(reg.rootPath, '/');
    assert.equal(reg.preferredFormat, undefined);
    assert.equal(reg.supportedFormats, undefined);
    assert.equal(reg.expiresAt, NOW + DEFAULT_LIFETIME * 1000);
    assert.equal(reg.peer.key, '');
  });

  it('takes ct from a plain </> link without rt', () => {
    const reg = parseRegisterRequest({ ep: 'z' }, '</>;ct=11543,</3/0>');
    assert.equal(reg.rootPath, '/');
    assert.equal(reg.preferredFormat, 11543);
  });

  it('keeps unknown query parameters and link attributes', () => {
    const reg = parseRegisterRequest(
      { ep: 'e', lwm2m: '1.1', apn: 'internet', ['__proto__']: 'x' },
      '</>;rt="oma.lwm2m";title="root",</1>;ver=1.1;foo=bar,</3/0>;obs',
    );
    assert.equal(reg.extraAttributes.query?.apn, 'internet');
    assert.equal(Object.getOwnPropertyDescriptor(reg.extraAttributes.query, '__proto__')?.value, 'x');
    assert.deepEqual(reg.extraAttributes.links, { '/': { title: 'root' }, '/1': { foo: 'bar' }, '/3/0': { obs: true } });
  });

  it('accepts a Buffer body and registers instances given twice once', () => {
    const reg = parseRegisterRequest({ ep: 'buf' }, Buffer.from('</3303/1>,</3303/0>,</3303/1>'));
    assert.deepEqual(reg.objects, [{ id: 3303, instances: [0, 1] }]);
  });

  it('gives each registration a fresh 128-bit url-safe id', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = newRegistrationId();
      assert.match(id, /^[A-Za-z0-9_-]{22}$/);
      assert.equal(Buffer.from(id, 'base64url').length, 16);
      ids.add(id);
    }
    assert.equal(ids.size, 1000);
    const a = parseRegisterRequest({ ep: 'a' }, '');
    const b = parseRegisterRequest({ ep: 'a' }, '');
    assert.notEqual(a.id, b.id);
  });

  it('shares the object list between registrations with the same objects', () => {
    const body = '</1/0>,</3/0>,</3303/0>';
    const a = parseRegisterRequest({ ep: 'a' }, body);
    const b = parseRegisterRequest({ ep: 'b' }, body);
    assert.equal(a.objects, b.objects);
    const c = parseRegisterRequest({ ep: 'c' }, '</1/0>,</3/0>,</3303/0>,</3303/1>');
    assert.notEqual(a.objects, c.objects);
    // Equal entries are shared even when the lists differ.
    assert.equal(a.objects[0], c.objects[0]);
    assert.notDeepEqual(a.objects[2], c.objects[2]);
  });

  it('returns frozen records', () => {
    const reg = parseRegisterRequest({ ep: 'f' }, '</3/0>');
    assert.ok(Object.isFrozen(reg));
    assert.ok(Object.isFrozen(reg.objects));
    assert.ok(Object.isFrozen(reg.objects[0]!.instances));
    assert.ok(Object.isFrozen(reg.peer));
  });

  describe('errors', () => {
    it('4.00 when ep is missing, empty or has no value', () => {
      assertCode(() => parseRegisterRequest({ lt: '60' }, '</3/0>'), '4.00', /endpoint/);
      assertCode(() => parseRegisterRequest({ ep: '' }, '</3/0>'), '4.00');
      assertCode(() => parseRegisterRequest({ ep: true }, '</3/0>'), '4.00');
    });

    for (const lt of ['0', '-5', 'abc', '1.5', '', '4294967296', '99999999999'] as const) {
      it(`4.00 for lt=${JSON.stringify(lt)}`, () => {
        assertCode(() => parseRegisterRequest({ ep: 'e', lt }, '</3/0>'), '4.00', /lifetime/);
      });
    }
    it('4.00 for lt without a value', () => {
      assertCode(() => parseRegisterRequest({ ep: 'e', lt: true }, '</3/0>'), '4.00', /lifetime/);
    });

    for (const version of ['2.0', '1.3', '1', '0.9', '1.1.1', ''] as const) {
      it(`4.12 for lwm2m=${JSON.stringify(version)}`, () => {
        assertCode(() => parseRegisterRequest({ ep: 'e', lwm2m: version }, '</3/0>'), '4.12');
      });
    }
    it('4.12 for lwm2m without a value', () => {
      assertCode(() => parseRegisterRequest({ ep: 'e', lwm2m: true }, '</3/0>'), '4.12');
    });

    const badBindings: [string, string][] = [
      ['1.0', 'X'],
      ['1.0', 'UU'],
      ['1.0', 'Q'],
      ['1.0', 'T'],
      ['1.0', ''],
      ['1.1', 'UQ'],
      ['1.1', 'M'],
      ['1.2', 'u'],
      ['1.2', 'UQ'],
    ];
    for (const [version, b] of badBindings) {
      it(`4.00 for b=${JSON.stringify(b)} in ${version}`, () => {
        assertCode(() => parseRegisterRequest({ ep: 'e', lwm2m: version, b }, '</3/0>'), '4.00', /binding/);
      });
    }

    it('4.00 for sms without a value', () => {
      assertCode(() => parseRegisterRequest({ ep: 'e', sms: true }, '</3/0>'), '4.00', /SMS/);
    });

    const badBodies = [
      '</3/0',
      '3/0',
      '</3/0>,garbage',
      '</3/0>;ver="1.1',
      '</1>;ver=abc',
      '</1>;ver',
      '</1>;ver=1.0,</1>;ver=1.1',
      '</3/0/1>',
      '</70000>',
      '</3/65535>',
      '</>;rt="oma.lwm2m",</a>;rt="oma.lwm2m"',
      '</>;rt="oma.lwm2m";ct=abc',
      '</>;rt="oma.lwm2m";ct=70000',
      '</>;rt="oma.lwm2m";ct',
    ];
    for (const body of badBodies) {
      it(`4.00 for the body ${body}`, () => {
        assertCode(() => parseRegisterRequest({ ep: 'e', lwm2m: '1.1' }, body), '4.00');
      });
    }

    it('4.00 for a body that is not UTF-8', () => {
      assertCode(() => parseRegisterRequest({ ep: 'e' }, Buffer.from([0x3c, 0x2f, 0xff, 0x3e])), '4.00');
    });
  });
});

describe('server-store: applyUpdate', () => {
  const T1 = NOW + 120_000;
  function base(): Registration {
    return parseRegisterRequest(
      { ep: 'dev', lt: '300', lwm2m: '1.1', b: 'U', apn: 'a' },
      '</>;rt="oma.lwm2m";ct=110,</1/0>,</3/0>',
      { now: NOW, peer: PEER },
    );
  }

  it('restarts the expiry from now and keeps what the Update does not carry', () => {
    const reg = base();
    const updated = applyUpdate(reg, {}, undefined, { now: T1 });
    assert.equal(updated.id, reg.id);
    assert.equal(updated.endpoint, 'dev');
    assert.equal(updated.lifetime, 300);
    assert.equal(updated.binding, 'U');
    assert.equal(updated.objects, reg.objects);
    assert.equal(updated.preferredFormat, 110);
    assert.deepEqual(updated.extraAttributes, reg.extraAttributes);
    assert.deepEqual(updated.peer, PEER);
    assert.equal(updated.registeredAt, NOW);
    assert.equal(updated.updatedAt, T1);
    assert.equal(updated.expiresAt, T1 + 300_000);
  });

  it('leaves the original record untouched (immutable update)', () => {
    const reg = base();
    const copy = structuredClone(reg);
    applyUpdate(reg, { lt: '999', b: 'UT' }, '</5/0>', { now: T1 });
    assert.deepEqual(structuredClone(reg), copy);
  });

  it('changes lifetime, binding and SMS number', () => {
    const updated = applyUpdate(base(), { lt: '600', b: 'US', sms: '+15550101' }, undefined, { now: T1 });
    assert.equal(updated.lifetime, 600);
    assert.equal(updated.binding, 'US');
    assert.equal(updated.smsNumber, '+15550101');
    assert.equal(updated.expiresAt, T1 + 600_000);
  });

  it('replaces objects, root path and formats when a body is sent', () => {
    const updated = applyUpdate(base(), {}, '</1/0>,</3/0>,</3303/0>;foo=1', { now: T1 });
    assert.deepEqual(
      updated.objects.map((o) => o.id),
      [1, 3, 3303],
    );
    assert.equal(updated.preferredFormat, undefined);
    assert.equal(updated.rootPath, '/');
    assert.deepEqual(updated.extraAttributes.links, { '/3303/0': { foo: '1' } });
    // An empty body is no body.
    assert.equal(applyUpdate(base(), {}, '', { now: T1 }).objects.length, 2);
    assert.equal(applyUpdate(base(), {}, Buffer.alloc(0), { now: T1 }).objects.length, 2);
  });

  it('merges unknown query parameters', () => {
    const updated = applyUpdate(base(), { apn: 'b', rssi: '-70' }, undefined, { now: T1 });
    assert.deepEqual(updated.extraAttributes.query, { apn: 'b', rssi: '-70' });
  });

  it('takes the new peer address (NAT rebinding) and keeps the old one otherwise', () => {
    const peer = { key: 'udp:192.0.2.10:40000', host: '192.0.2.10', port: 40000, identity: 'dev-psk' };
    const updated = applyUpdate(base(), {}, undefined, { now: T1, peer });
    assert.deepEqual(updated.peer, peer);
    assert.ok(Object.isFrozen(updated.peer));
  });

  it('1.0: the binding of an Update switches queue mode on and off', () => {
    const reg = parseRegisterRequest({ ep: 'old', lwm2m: '1.0', b: 'UQ' }, '</3/0>');
    const off = applyUpdate(reg, { b: 'U' });
    assert.equal(off.queueMode, false);
    assert.equal(applyUpdate(off, { b: 'UQ' }).queueMode, true);
    assert.equal(applyUpdate(reg, {}).queueMode, true);
  });

  it('1.1: Q switches queue mode on; an Update without Q keeps it', () => {
    const reg = base();
    const on = applyUpdate(reg, { Q: true });
    assert.equal(on.queueMode, true);
    assert.equal(applyUpdate(on, { lt: '100' }).queueMode, true);
  });

  it('rejects invalid parameters and bodies with 4.00', () => {
    const reg = base();
    assertCode(() => applyUpdate(reg, { lt: '0' }), '4.00', /lifetime/);
    assertCode(() => applyUpdate(reg, { b: 'UQ' }), '4.00', /binding/);
    assertCode(() => applyUpdate(reg, { sms: true }), '4.00');
    assertCode(() => applyUpdate(reg, {}, '</3/0'), '4.00');
    assertCode(() => applyUpdate(reg, { ep: 'other' }), '4.00', /endpoint/);
    assertCode(() => applyUpdate(reg, { lwm2m: '1.2' }), '4.00', /version/);
    // Repeating the same values is allowed.
    assert.equal(applyUpdate(reg, { ep: 'dev', lwm2m: '1.1' }).endpoint, 'dev');
  });
});
