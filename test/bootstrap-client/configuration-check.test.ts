/**
 * The Bootstrap-Finish consistency check and the tree snapshots that undo a
 * failed session, without the network.
 */
import assert from 'node:assert/strict';
import { checkConfiguration } from '../../src/client/bootstrap-check.js';
import { ObjectTree } from '../../src/client/object-tree.js';
import { builtinRegistry } from '../../src/model/registry.js';

function tree(): ObjectTree {
  const t = new ObjectTree({ registry: builtinRegistry(), lwm2mVersion: '1.1' });
  t.addObject(0);
  t.addObject(1);
  return t;
}

function account(t: ObjectTree, sid: number, iid: number, ssid: number, uri = 'coap://127.0.0.1:5683'): void {
  t.addInstance(0, sid, { 0: uri, 1: false, 2: 3, 10: ssid });
  t.addInstance(1, iid, { 0: ssid, 1: 60, 6: false, 7: 'U' });
}

describe('client bootstrap: configuration consistency check', () => {
  it('accepts paired accounts next to one Bootstrap-Server account', () => {
    const t = tree();
    t.addInstance(0, 0, { 0: 'coap://bs', 1: true, 2: 3 });
    account(t, 1, 0, 101);
    account(t, 2, 5, 102, 'coap://[::1]:5683');
    const check = checkConfiguration(t);
    assert.deepEqual(check, { ok: true, problems: [], servers: [101, 102] });
  });

  it('names every problem', () => {
    const t = tree();
    t.addInstance(0, 0, { 0: 'coap://bs1', 1: true });
    t.addInstance(0, 1, { 0: 'coap://bs2', 1: true });
    account(t, 2, 0, 5);
    t.addInstance(0, 3, { 0: 'coap://x', 1: false, 10: 5 });
    t.addInstance(0, 4, { 0: 'not a uri', 1: false, 10: 6 });
    t.addInstance(1, 1, { 0: 6, 1: 60, 6: false, 7: 'U' });
    t.addInstance(1, 2, { 0: 7, 1: 0, 6: false, 7: 'U' });
    t.addInstance(0, 5, { 0: 'coap://y', 1: false });
    const { ok, problems, servers } = checkConfiguration(t);
    assert.equal(ok, false);
    assert.deepEqual(servers, [5]);
    assert.deepEqual(problems, [
      '/0/2 and /0/3 both use Short Server ID 5',
      '/0/5 has no valid Short Server ID (/0/5/10 must be 1..65534)',
      '2 Bootstrap-Server accounts (/0/0, /0/1): at most one is allowed',
      '/1/2/1 (lifetime) must be a positive number of seconds',
      '/1/2 (Short Server ID 7) has no Security instance in /0',
      '/0/4/0 (server URI) "not a uri" is not a URI',
    ]);
  });

  it('wants at least one LwM2M Server account', () => {
    const t = tree();
    t.addInstance(0, 0, { 0: 'coap://bs', 1: true });
    const check = checkConfiguration(t);
    assert.equal(check.ok, false);
    assert.deepEqual(check.problems, ['no LwM2M Server account (/0 and /1 instances with the same Short Server ID)']);
  });

  it('refuses accounts this client cannot use: coaps:// or a security mode other than NoSec', () => {
    const t = tree();
    account(t, 1, 0, 1, 'coaps://127.0.0.1:5684');
    const check = checkConfiguration(t);
    assert.equal(check.ok, false);
    assert.match(check.problems[0]!, /coaps:\/\/127\.0\.0\.1:5684 with security mode 3 cannot be used/);
    const psk = tree();
    account(psk, 1, 0, 1);
    psk.setValue([0, 1, 2], 0);
    assert.match(checkConfiguration(psk).problems[0]!, /security mode 0 cannot be used/);
  });
});

describe('client bootstrap: tree snapshots', () => {
  it('restore() puts instances, values and origins back and reports what changed', () => {
    const t = tree();
    account(t, 1, 0, 1);
    t.addObject(3303);
    t.addInstance(3303, 0, { 5700: 1 });
    const snap = t.snapshot();
    assert.deepEqual([...snap.objectIds], [0, 1, 3303]);
    t.setValue([1, 0, 1], 120, 'bootstrap');
    t.removeInstance(0, 1, 'bootstrap');
    t.addInstance(1, 9, { 0: 9 }, 'bootstrap');
    t.addObject(2);
    t.addInstance(2, 0, { 0: 1, 1: 0 }, 'bootstrap');
    const seen: string[] = [];
    t.on('instances', (e) => seen.push(`${e.kind} /${e.objectId}/${e.instanceId}`));
    t.on('change', (p) => seen.push(`change /${p.join('/')}`));
    t.restore(snap);
    assert.deepEqual(t.instanceIds(0), [1]);
    assert.deepEqual(t.instanceIds(1), [0]);
    assert.deepEqual(t.instanceIds(2), [], 'an object declared since keeps no instance');
    assert.equal(t.storedValue([1, 0, 1])?.value, 60);
    assert.equal(t.instanceOrigin(3303, 0), 'local');
    assert.deepEqual(seen.sort(), ['change /1/0/1', 'created /0/1', 'deleted /1/9', 'deleted /2/0']);
    // The snapshot stays usable: a second restore after more changes.
    t.setValue([3303, 0, 5700], 2);
    t.restore(snap);
    assert.equal(t.storedValue([3303, 0, 5700])?.value, 1);
  });
});
