import assert from 'node:assert/strict';
import { Lwm2mError } from '../../src/errors.js';
import { ContentFormat } from '../../src/formats/index.js';
import { failureStatus, topicOf, toFlowFailure } from '../../nodes/lib/messages.js';
import { parseAttributes, parseOperation, resolveRequest } from '../../nodes/lib/request-input.js';
import { executeArguments } from '../../nodes/lib/request-ops.js';
import { DEFAULT_SETTINGS, parseServerSettings, SettingsError } from '../../nodes/lib/server-settings.js';

function badRequest(pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof Lwm2mError && err.code === '4.00' && pattern.test(err.message);
}

describe('nodes: message and settings parsing', () => {
  describe('operations', () => {
    it('accepts the canonical names and common spellings', () => {
      assert.equal(parseOperation('read'), 'read');
      assert.equal(parseOperation('Write-Attributes'), 'write-attributes');
      assert.equal(parseOperation('writeAttributes'), 'write-attributes');
      assert.equal(parseOperation('write_attributes'), 'write-attributes');
      assert.equal(parseOperation('READ COMPOSITE'), 'read-composite');
      assert.equal(parseOperation('update'), 'write-update');
      assert.equal(parseOperation('replace'), 'write');
      assert.equal(parseOperation('exec'), 'execute');
    });
    it('refuses an unknown or missing operation with 4.00', () => {
      assert.throws(() => parseOperation('fly'), badRequest(/unknown operation "fly"/));
      assert.throws(() => parseOperation(''), badRequest(/no operation/));
      assert.throws(() => parseOperation(3), badRequest(/no operation/));
    });
  });

  describe('resolveRequest', () => {
    const defaults = { operation: 'read', endpoint: 'dev', path: '/3/0', format: '', timeout: '' };

    it('uses the editor defaults, each overridden by a non-empty message property', () => {
      const fromConfig = resolveRequest(defaults, {});
      assert.deepEqual(fromConfig, { operation: 'read', endpoint: 'dev', paths: [[3, 0]], payload: undefined });
      const fromMsg = resolveRequest(defaults, { operation: 'discover', endpoint: 'other', path: '/3/0/9', format: 'tlv', timeout: 2.5, payload: 1 });
      assert.deepEqual(fromMsg, { operation: 'discover', endpoint: 'other', paths: [[3, 0, 9]], format: ContentFormat.TLV, timeoutMs: 2500, payload: 1 });
      assert.equal(resolveRequest(defaults, { endpoint: '' }).endpoint, 'dev', 'an empty msg.endpoint does not override');
    });

    it('reads formats by name or number and refuses unknown ones', () => {
      assert.equal(resolveRequest(defaults, { format: 'senml-cbor' }).format, ContentFormat.SENML_CBOR);
      assert.equal(resolveRequest(defaults, { format: 11544 }).format, ContentFormat.LWM2M_CBOR);
      assert.equal(resolveRequest(defaults, { format: '110' }).format, ContentFormat.SENML_JSON);
      assert.throws(() => resolveRequest(defaults, { format: 'xml' }), badRequest(/unknown content format "xml"/));
      assert.throws(() => resolveRequest(defaults, { format: {} }), badRequest(/msg.format must be/));
    });

    it('checks endpoint, timeout and paths before anything is sent', () => {
      assert.throws(() => resolveRequest({ ...defaults, endpoint: '' }, {}), badRequest(/no endpoint given/));
      assert.throws(() => resolveRequest(defaults, { endpoint: 7 }), badRequest(/msg.endpoint must be a string/));
      assert.throws(() => resolveRequest(defaults, { timeout: -1 }), badRequest(/timeout must be/));
      assert.throws(() => resolveRequest(defaults, { timeout: 'soon' }), badRequest(/timeout must be/));
      assert.throws(() => resolveRequest(defaults, { path: '/3/x' }), badRequest(/segment "x"/));
      assert.throws(() => resolveRequest(defaults, { path: ['/3/0', '/4/0'] }), badRequest(/takes one path, got 2/));
      assert.throws(() => resolveRequest({ ...defaults, path: '' }, {}), badRequest(/no path given for read/));
      assert.throws(() => resolveRequest(defaults, { path: 5 }), badRequest(/msg.path must be a string/));
      assert.throws(() => resolveRequest(defaults, { operation: 'execute', path: '/3/0' }), badRequest(/execute needs a resource path/));
      assert.throws(() => resolveRequest(defaults, { operation: 'delete', path: '/3303' }), badRequest(/delete needs an object instance path/));
      assert.throws(() => resolveRequest(defaults, { operation: 'create', path: '/3303/0/5700' }), badRequest(/create needs an object path/));
      assert.throws(() => resolveRequest(defaults, { operation: 'write', path: '/3' }), badRequest(/write needs an instance or resource path/));
      assert.throws(() => resolveRequest(defaults, { path: '/' }), badRequest(/read needs an object, instance or resource path/));
      assert.deepEqual(resolveRequest(defaults, { path: ['/3/0/9'] }).paths, [[3, 0, 9]], 'an array of one path is one path');
    });

    it('takes composite paths from a list or a comma-separated string, and write-composite paths from the payload', () => {
      assert.deepEqual(resolveRequest(defaults, { operation: 'read-composite', path: '/3/0/9, /3303/0/5700' }).paths, [[3, 0, 9], [3303, 0, 5700]]);
      assert.deepEqual(resolveRequest(defaults, { operation: 'read-composite', path: ['/1/0/1', '/3/0'] }).paths, [[1, 0, 1], [3, 0]]);
      assert.throws(() => resolveRequest(defaults, { operation: 'read-composite', path: ['/3/0', 9] }), badRequest(/every path must be a string/));
      const write = resolveRequest(defaults, { operation: 'write-composite', payload: { '/3/0/13': 0, '/1/0/1': 60 } });
      assert.deepEqual(write.paths, [[3, 0, 13], [1, 0, 1]]);
      assert.throws(() => resolveRequest(defaults, { operation: 'write-composite', payload: 5 }), badRequest(/needs msg.payload as an object/));
      assert.throws(() => resolveRequest(defaults, { operation: 'write-composite', payload: {} }), badRequest(/at least one/));
      assert.throws(() => resolveRequest(defaults, { operation: 'write-composite', payload: { 'three/zero': 1 } }), badRequest(/invalid path/));
    });
  });

  describe('attributes', () => {
    it('checks names, values and their relations', () => {
      assert.deepEqual(parseAttributes({ pmin: '5', pmax: 60, st: null, gt: '' }, 'x'), { pmin: 5, pmax: 60, st: null });
      assert.equal(parseAttributes({}, 'x'), undefined);
      assert.equal(parseAttributes(undefined, 'x'), undefined);
      assert.throws(() => parseAttributes({ period: 5 }, 'msg.attributes'), badRequest(/msg.attributes: unknown attribute "period"/));
      assert.throws(() => parseAttributes({ pmin: 60, pmax: 5 }, 'x'), badRequest(/pmax \(5\) must not be less than pmin/));
      assert.throws(() => parseAttributes({ pmin: 1.5 }, 'x'), badRequest(/integer/));
      assert.throws(() => parseAttributes('pmin=5', 'x'), badRequest(/must be an object/));
    });
  });

  it('takes execute arguments from a string or a list, and nothing else', () => {
    assert.equal(executeArguments(" 0='a',1 "), "0='a',1");
    assert.deepEqual(executeArguments([{ digit: 0, value: 'a' }]), [{ digit: 0, value: 'a' }]);
    assert.equal(executeArguments(1_700_000_000_000), '');
    assert.equal(executeArguments({}), '');
  });

  it('builds topics from endpoint and path or event', () => {
    assert.equal(topicOf('dev', '/3/0/9'), 'dev/3/0/9');
    assert.equal(topicOf('dev', 'registered'), 'dev/registered');
    assert.equal(topicOf('dev', ['/3/0/9']), 'dev/3/0/9');
    assert.equal(topicOf('dev', ['/3/0/9', '/1/0/1']), 'dev/composite');
  });

  it('turns engine errors into stackless flow errors and keeps the stack of bugs', () => {
    const expected = toFlowFailure(new Lwm2mError('4.04', 'not there'));
    assert.equal(expected.code, '4.04');
    assert.equal(expected.expected, true);
    assert.equal(expected.error.stack, 'Lwm2mError: not there');
    const bug = toFlowFailure(new TypeError('x is undefined'));
    assert.equal(bug.code, '5.00');
    assert.equal(bug.expected, false);
    assert.match(String(bug.error.stack), /\n\s+at /);
  });

  it('puts the reason first in a failure status and keeps it short', () => {
    const refused = failureStatus(toFlowFailure(new Lwm2mError('4.05', 'Write /3/0/9 on dev failed: 4.05 Method Not Allowed')));
    assert.deepEqual(refused, { fill: 'red', shape: 'ring', text: '4.05 Method Not Allowed: Write /3/0/9 on dev' });
    const local = failureStatus(toFlowFailure(new Lwm2mError('4.00', 'invalid path "/3/x"')));
    assert.equal(local.text, '4.00 invalid path "/3/x"');
    const long = failureStatus(toFlowFailure(new Lwm2mError('4.04', 'x'.repeat(200))));
    assert.equal(long.text?.length, 60);
    assert.ok(long.text?.endsWith('…'));
  });

  describe('server settings', () => {
    it('fills defaults and converts seconds to milliseconds', () => {
      assert.deepEqual(parseServerSettings({}), DEFAULT_SETTINGS);
      const s = parseServerSettings({ address: '::', port: '0', grace: '2.5', timeout: 0.5, awake: '30', persist: false, models: ' ddf ' });
      assert.deepEqual(s, { address: '::', port: 0, expiryGraceMs: 2500, requestTimeoutMs: 500, persist: false, modelsFolder: 'ddf', awakeTimeMs: 30_000 });
    });
    it('refuses unusable values with a message naming the field', () => {
      assert.throws(() => parseServerSettings({ address: 'my-host' }), (e) => e instanceof SettingsError && /bind address "my-host"/.test(e.message));
      assert.throws(() => parseServerSettings({ port: '5683.5' }), /port must be a whole number/);
      assert.throws(() => parseServerSettings({ port: 70000 }), /port must be a whole number from 0 to 65535/);
      assert.throws(() => parseServerSettings({ timeout: '0' }), /request timeout must be a number/);
      assert.throws(() => parseServerSettings({ grace: 'long' }), /lifetime grace/);
    });
  });
});
