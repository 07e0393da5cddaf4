/**
 * Parsing of the device-side and bootstrap settings and messages: every
 * field checked once, every failure naming what is wrong.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Lwm2mError } from '../../src/errors.js';
import { ContentFormat } from '../../src/formats/index.js';
import { parseBootstrapOperation, resolveBootstrapAction } from '../../nodes/lib/bootstrap-input.js';
import { parseBootstrapSettings } from '../../nodes/lib/bootstrap-settings.js';
import { parseClientOperation, resolveClientAction } from '../../nodes/lib/client-input.js';
import { ClientRuntime } from '../../nodes/lib/client-runtime.js';
import { clientOptions, mergeInitialValues, parseClientSettings, parseObjectList, parseServerUri } from '../../nodes/lib/client-settings.js';
import { SettingsError } from '../../nodes/lib/settings-fields.js';

function badRequest(pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof Lwm2mError && err.code === '4.00' && pattern.test(err.message);
}

function settingsError(pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof SettingsError && pattern.test(err.message);
}

const BASE = { endpoint: 'dev-1', uri: 'coap://127.0.0.1:5683' };

describe('nodes: device-side and bootstrap parsing', () => {
  describe('lwm2m-client settings', () => {
    it('reads every field, with defaults for the empty ones', () => {
      const s = parseClientSettings(
        {
          ...BASE,
          version: '1.2',
          lifetime: '120',
          queue: true,
          awake: '2.5',
          port: '5690',
          manufacturer: ' ACME ',
          model: 'T-1000',
          serial: '',
          firmware: '2.0',
          objects: '3303/0, 3303/1; 6/0 3306',
          values: '{"/3303/0": {"5700": 21.5}, "/3303/1/5700": 19, "6/0/0": 52.5, "/3/0/9": 80}',
        },
        { identity: 'id-1', key: 's3cret' },
      );
      assert.deepEqual(s, {
        endpoint: 'dev-1',
        serverUri: 'coap://127.0.0.1:5683',
        version: '1.2',
        lifetime: 120,
        queueMode: true,
        awakeTimeMs: 2500,
        port: 5690,
        device: { manufacturer: 'ACME', modelNumber: 'T-1000', firmwareVersion: '2.0' },
        objects: { 3: { 0: { 9: 80 } }, 3303: { 0: { 5700: 21.5 }, 1: { 5700: 19 } }, 6: { 0: { 0: 52.5 } }, 3306: {} },
        psk: { identity: 'id-1', key: 's3cret' },
      });
      const d = parseClientSettings({ endpoint: 'x' });
      assert.equal(d.serverUri, 'coap://127.0.0.1:5683');
      assert.equal(d.version, '1.1');
      assert.equal(d.lifetime, 300);
      assert.equal(d.queueMode, false);
      assert.equal(d.port, 0);
      assert.deepEqual(d.objects, {});
      assert.equal('psk' in d, false, 'no credentials, no psk');
    });

    it('refuses unusable settings, naming the field', () => {
      assert.throws(() => parseClientSettings({ endpoint: ' ' }), settingsError(/endpoint name is missing/));
      assert.throws(() => parseClientSettings({ endpoint: 'a b' }), settingsError(/must not contain spaces/));
      assert.throws(() => parseClientSettings({ ...BASE, version: '2.0' }), settingsError(/LwM2M version must be 1\.0, 1\.1 or 1\.2/));
      assert.throws(() => parseClientSettings({ ...BASE, lifetime: '0' }), settingsError(/lifetime must be a whole number from 1/));
      assert.throws(() => parseClientSettings({ ...BASE, port: '65536' }), settingsError(/local port/));
      assert.throws(() => parseClientSettings({ ...BASE, objects: '3303/x' }), settingsError(/object list entry "3303\/x"/));
      assert.throws(() => parseClientSettings({ ...BASE, objects: '3303/0/5700' }), settingsError(/must be an object or an instance/));
      assert.throws(() => parseClientSettings({ ...BASE, objects: '1/0' }), settingsError(/object 1 \(LwM2M Server\) is managed by the client/));
      assert.throws(() => parseClientSettings({ ...BASE, values: '[1]' }), settingsError(/initial values must be a JSON object/));
      assert.throws(() => parseClientSettings({ ...BASE, values: '{"/0/0/0": "x"}' }), settingsError(/object 0 \(Security\)/));
      assert.throws(() => parseClientSettings({ ...BASE, values: '{"/3303/0": 5}' }), settingsError(/must be \{ resourceId: value \}/));
      assert.throws(() => parseClientSettings({ ...BASE, values: '{"/3303": {"a": {}}}' }), settingsError(/instance id "a"/));
    });

    it('takes coap:// server URIs only', () => {
      assert.equal(parseServerUri('coap://[::1]:5683', 'server URI'), 'coap://[::1]:5683');
      assert.equal(parseServerUri('coap://lwm2m.example', 'server URI'), 'coap://lwm2m.example');
      assert.throws(() => parseServerUri('coaps://h:5684', 'server URI'), settingsError(/DTLS\) is not available/));
      assert.throws(() => parseServerUri('http://h', 'server URI'), settingsError(/must start with coap:\/\//));
      assert.throws(() => parseServerUri('h:5683', 'server URI'), settingsError(/must start with coap:\/\/|not a URI/));
      assert.throws(() => parseServerUri('', 'server URI'), settingsError(/server URI is missing/));
    });

    it('merges initial values at every level into the exposed instances', () => {
      const objects = parseObjectList('3303/0 3303/2');
      mergeInitialValues(objects, { '/3303': { 1: { 5700: 1 } }, '/3303/0/5700': 2, '/3/0/11/0': 0, '/3/0/11/1': 5 });
      assert.deepEqual(objects, { 3303: { 0: { 5700: 2 }, 1: { 5700: 1 }, 2: {} }, 3: { 0: { 11: { 0: 0, 1: 5 } } } });
    });

    it('maps the settings onto the engine options in one place', () => {
      const s = parseClientSettings({ ...BASE, lifetime: '90', queue: true, awake: '1', objects: '3303/0' });
      const options = clientOptions(s);
      assert.deepEqual(options.servers, [{ uri: 'coap://127.0.0.1:5683', shortServerId: 1, lifetime: 90, binding: 'U', queueMode: true }]);
      assert.equal(options.awakeTimeMs, 1000);
      assert.deepEqual(options.objects, { 3303: { 0: {} } });
      assert.deepEqual(clientOptions(s, { objects: { 6: { 0: { 0: 1 } } } }).objects, { 6: { 0: { 0: 1 } } }, 'values kept from before replace the configured ones');
    });
  });

  describe('lwm2m-client-out messages', () => {
    const defaults = { operation: 'set', path: '', format: '' };

    it('names operations in several spellings', () => {
      assert.equal(parseClientOperation('De-Register'), 'deregister');
      assert.equal(parseClientOperation('stop'), 'deregister');
      assert.equal(parseClientOperation('START'), 'register');
      assert.equal(parseClientOperation('registration update'), 'update');
      assert.equal(parseClientOperation('setValues'), 'set');
      assert.throws(() => parseClientOperation('reboot'), badRequest(/unknown operation "reboot"/));
      assert.throws(() => parseClientOperation(undefined), badRequest(/no operation given/));
    });

    it('sets one value at msg.path, a path map, or the editor path, in that order', () => {
      assert.deepEqual(resolveClientAction(defaults, { path: '/3303/0/5700', payload: 1 }), { operation: 'set', values: [{ path: [3303, 0, 5700], value: 1 }] });
      assert.deepEqual(resolveClientAction(defaults, { payload: { '/3303/0/5700': 1, '/3/0/9': 80 } }), {
        operation: 'set',
        values: [
          { path: [3303, 0, 5700], value: 1 },
          { path: [3, 0, 9], value: 80 },
        ],
      });
      // an instance value ({ rid: value }) is not a path map: the editor path applies
      assert.deepEqual(resolveClientAction({ ...defaults, path: '/3303/0' }, { payload: { 5700: 3 } }), { operation: 'set', values: [{ path: [3303, 0], value: { 5700: 3 } }] });
      assert.throws(() => resolveClientAction(defaults, { path: '/3303', payload: 1 }), badRequest(/instance, resource or resource-instance path/));
      assert.throws(() => resolveClientAction(defaults, { path: '/3303/0/5700' }), badRequest(/msg\.payload is missing/));
      assert.throws(() => resolveClientAction(defaults, { path: ['/3303/0/5700'], payload: 1 }), badRequest(/got an array/));
      assert.throws(() => resolveClientAction(defaults, { payload: { '/3303/x': 1 } }), badRequest(/segment "x"/));
    });

    it('sends paths or readings, in SenML CBOR unless told otherwise', () => {
      assert.deepEqual(resolveClientAction({ ...defaults, operation: 'send', path: '/3303/0/5700, /3/0/9' }, {}), { operation: 'send', paths: [[3303, 0, 5700], [3, 0, 9]] });
      assert.deepEqual(resolveClientAction(defaults, { operation: 'send', path: ['/3303/0'], format: 'senml-json' }), { operation: 'send', paths: [[3303, 0]], format: ContentFormat.SENML_JSON });
      assert.deepEqual(resolveClientAction(defaults, { operation: 'send', payload: { '/3303/0/5700': 20 } }), { operation: 'send', readings: { '/3303/0/5700': 20 } });
      assert.throws(() => resolveClientAction(defaults, { operation: 'send', path: '/3/0', format: 'tlv' }), badRequest(/Send carries senml-cbor, senml-json or lwm2m-cbor/));
      assert.throws(() => resolveClientAction(defaults, { operation: 'send', payload: 17 }), badRequest(/send needs msg\.path/));
      assert.deepEqual(resolveClientAction(defaults, { operation: 'update', payload: 1 }), { operation: 'update' });
    });
  });

  describe('lwm2m-bootstrap-server settings and lwm2m-bootstrap messages', () => {
    const CONFIG = { objects: { 1: { 0: { 0: 101, 1: 300 } } } };

    it('reads the settings with defaults, and checks the template at deploy', () => {
      assert.deepEqual(parseBootstrapSettings({}), { address: '0.0.0.0', port: 5783, persist: true, requestTimeoutMs: 5000, sessionTimeoutMs: 60000 });
      const s = parseBootstrapSettings({ address: '::', port: '0', persist: 'false', timeout: '0.5', sessionTimeout: '3', template: JSON.stringify(CONFIG) });
      assert.deepEqual(s, { address: '::', port: 0, persist: false, template: CONFIG, requestTimeoutMs: 500, sessionTimeoutMs: 3000 });
      assert.throws(() => parseBootstrapSettings({ address: 'here' }), settingsError(/bind address "here" is not an IP address/));
      assert.throws(() => parseBootstrapSettings({ template: '{"objects": {"x": {}}}' }), settingsError(/default configuration: object id "x"/));
      assert.throws(() => parseBootstrapSettings({ template: '{' }), settingsError(/default configuration is not valid JSON/));
    });

    it('resolves operations, endpoints and configurations', () => {
      const d = { operation: 'set', endpoint: 'cfg-ep' };
      assert.equal(parseBootstrapOperation('Add'), 'set');
      assert.equal(parseBootstrapOperation('delete'), 'remove');
      assert.equal(parseBootstrapOperation('template'), 'default');
      assert.deepEqual(resolveBootstrapAction(d, { payload: CONFIG }), { operation: 'set', endpoint: 'cfg-ep', config: CONFIG });
      assert.deepEqual(resolveBootstrapAction(d, { endpoint: 'msg-ep', payload: JSON.stringify(CONFIG) }), { operation: 'set', endpoint: 'msg-ep', config: CONFIG });
      assert.deepEqual(resolveBootstrapAction(d, { operation: 'remove' }), { operation: 'remove', endpoint: 'cfg-ep' });
      assert.deepEqual(resolveBootstrapAction(d, { operation: 'default', payload: '' }), { operation: 'default' });
      assert.deepEqual(resolveBootstrapAction({ operation: 'get' }, {}), { operation: 'get' });
      assert.deepEqual(resolveBootstrapAction({ operation: 'list', endpoint: 'x' }, {}), { operation: 'list' });
      assert.throws(() => resolveBootstrapAction({ operation: 'set' }, { payload: CONFIG }), badRequest(/no endpoint given/));
      assert.throws(() => resolveBootstrapAction(d, { payload: { read: '/1', objects: {} } }), badRequest(/"read" must be a list of paths/));
      assert.throws(() => resolveBootstrapAction(d, { operation: 'default', payload: 3 }), badRequest(/must be a bootstrap configuration/));
    });
  });

  describe('the device runtime on its own', () => {
    const log = (): void => undefined;

    it('fails to start on a busy local port, and a Register tries again once it is free', async () => {
      const blocker = createSocket('udp4');
      await new Promise<void>((resolve) => blocker.bind(0, '0.0.0.0', resolve));
      const busy = blocker.address().port;
      const runtime = new ClientRuntime(parseClientSettings({ ...BASE, uri: 'coap://127.0.0.1:9', port: String(busy) }), { id: 'rt', log });
      // read through a function: the assertions below would otherwise narrow the state's type for good
      const status = (): string => runtime.state.status;
      try {
        await runtime.start();
        assert.deepEqual(runtime.state, { status: 'failed', message: `UDP 0.0.0.0:${busy} is already in use` });
        await assert.rejects(runtime.ready(), (err: Lwm2mError) => err.code === '5.03' && /already in use/.test(err.message));
        await new Promise<void>((resolve) => blocker.close(() => resolve()));
        await runtime.register();
        assert.equal(status(), 'registering');
        assert.equal(runtime.client?.endpoint.address().port, busy);
      } finally {
        await runtime.stop();
        await runtime.stop();
        assert.equal(status(), 'stopped');
      }
      await assert.rejects(runtime.register(), (err: Lwm2mError) => err.code === '5.03' && /stopped/.test(err.message));
    });

    it('a Register before any start starts the device once', async () => {
      const runtime = new ClientRuntime(parseClientSettings({ ...BASE, uri: 'coap://127.0.0.1:9' }), { id: 'rt', log });
      try {
        await runtime.register();
        const first = runtime.client;
        assert.ok(first, 'running');
        await runtime.start();
        assert.equal(runtime.client, first, 'start() after the Register does not start a second engine');
      } finally {
        await runtime.stop();
      }
    });

    it('a runtime built from unusable settings never starts and says why', async () => {
      const runtime = ClientRuntime.failed('the endpoint name is missing', { id: 'rt', log });
      await runtime.start();
      await assert.rejects(runtime.ready(), /not running: the endpoint name is missing/);
      await assert.rejects(runtime.device(), /not running: the endpoint name is missing/);
      await assert.rejects(runtime.register(), /not running: the endpoint name is missing/);
    });
  });
});
