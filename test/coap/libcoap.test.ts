/**
 * libcoap's coap-client (Debian package libcoap3-bin) against our endpoint.
 * CI installs it; there a missing binary fails the suite. Elsewhere the
 * tests are skipped with a message.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { CoapEndpoint } from '../../src/coap/endpoint.js';
import type { IncomingRequest } from '../../src/coap/api.js';
import type { ObserverEndReason, ObserverHandle } from '../../src/coap/observer.js';
import { OptionNumber } from '../../src/coap/options.js';
import { endpoint, pseudoRandomBytes, sha256 } from './helpers.js';

function findClient(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter);
  for (const name of ['coap-client-notls', 'coap-client']) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      if (dir && existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

function run(binary: string, args: string[], timeoutMs = 10000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

describe('coap/endpoint with libcoap coap-client as the peer', function () {
  this.timeout(20000);
  const binary = findClient();
  let server: CoapEndpoint;
  let requests: IncomingRequest[];
  let tmp: string;

  before(function () {
    if (binary === undefined) {
      if (process.env.CI) assert.fail('coap-client(-notls) not found: CI must install libcoap3-bin');
      console.log('    (skipped: coap-client-notls not installed; apt-get install -y libcoap3-bin)');
      this.skip();
    }
    tmp = mkdtempSync(path.join(tmpdir(), 'coap-libcoap-'));
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  beforeEach(async () => {
    server = await endpoint({ parameters: { ackTimeoutMs: 2000 } }); // libcoap's own timers are RFC defaults
    requests = [];
  });

  afterEach(async () => {
    await server.close();
  });

  const uri = (p: string): string => `coap://127.0.0.1:${server.address().port}${p}`;

  it('GETs a resource (without Uri-Port thanks to -U)', async () => {
    server.onRequest((req) => {
      requests.push(req);
      return { code: '2.05', contentFormat: 0, payload: `value of /${req.path.join('/')}` };
    });
    const { stdout } = await run(binary!, ['-U', '-m', 'get', uri('/3/0/0')]);
    assert.equal(stdout.trim(), 'value of /3/0/0');
    assert.equal(requests.length, 1);
    assert.ok(!requests[0]!.options.some((o) => o.number === OptionNumber.UriPort || o.number === OptionNumber.UriHost));
  });

  it('GETs a large representation block-wise', async () => {
    const body = Buffer.from('0123456789abcdef'.repeat(400)); // 6400 bytes of text
    server.onRequest(() => ({ code: '2.05', payload: body }));
    const out = path.join(tmp, 'big.out');
    await run(binary!, ['-U', '-o', out, uri('/big')]);
    assert.equal(sha256(readFileSync(out)), sha256(body));
  });

  it('POSTs a large body with -b (Block1)', async () => {
    const body = pseudoRandomBytes(50_000, 21);
    const file = path.join(tmp, 'body.bin');
    writeFileSync(file, body);
    let got: Buffer | undefined;
    server.onRequest((req) => {
      got = req.payload;
      return { code: '2.04', payload: `got ${req.payload.length}` };
    });
    const { stdout } = await run(binary!, ['-U', '-m', 'post', '-b', '1024', '-f', file, uri('/5/0/0')]);
    assert.equal(stdout.trim(), 'got 50000');
    assert.equal(sha256(got!), sha256(body));
    assert.equal(server.stats.requestsHandled, 1);
  });

  it('observes for a short time (-s) and deregisters at the end', async () => {
    let handle: ObserverHandle | undefined;
    let n = 0;
    const ends: ObserverEndReason[] = [];
    server.onRequest((req) => {
      requests.push(req);
      if (req.observe === 0) {
        handle = req.acceptObservation();
        handle.on('end', (r) => ends.push(r));
      }
      return { code: '2.05', payload: `n${n}` };
    });
    const timer = setInterval(() => {
      if (handle?.active) void server.notify(handle, { code: '2.05', payload: `n${++n}`, confirmable: n % 2 === 0 });
    }, 150);
    try {
      const { stdout } = await run(binary!, ['-U', '-w', '-s', '1', uri('/3303/0/5700')]);
      const lines = stdout.split('\n').filter((l) => l.length > 0);
      assert.equal(lines[0], 'n0');
      assert.ok(lines.length >= 4, `notifications: ${JSON.stringify(lines)}`);
      assert.deepEqual(lines, lines.map((_l, i) => `n${i}`), 'in order, none lost');
    } finally {
      clearInterval(timer);
    }
    assert.deepEqual(ends, ['deregistered']);
    assert.equal(requests[requests.length - 1]!.observe, 1);
  });
});
