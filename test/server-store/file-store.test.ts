import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRegistrationStore, type FileStoreOptions } from '../../src/server/file-store.js';
import { applyUpdate, parseRegisterRequest, type Registration } from '../../src/server/registration.js';
import type { ObservationRecord } from '../../src/server/registration-store.js';

const NOW = Date.now();

function register(endpoint: string, index = 0, lt = 3600, now = NOW): Registration {
  return parseRegisterRequest(
    { ep: endpoint, lt: String(lt), lwm2m: '1.1', b: 'U', Q: true, apn: 'iot' },
    `</>;rt="oma.lwm2m";ct="110 112",</1>;ver=1.1,</1/0>,</3/0>,</3303/0>,</3303/${1 + (index % 5)}>`,
    { now, peer: { key: `udp:10.0.${index >> 8}.${index & 255}:5683`, host: `10.0.${index >> 8}.${index & 255}`, port: 5683, identity: `psk-${index}` } },
  );
}

function observation(token: string, registrationId: string): ObservationRecord {
  return {
    token,
    registrationId,
    paths: ['/3303/0/5700', '/3/0/9'],
    format: 112,
    kind: 'composite',
    attributes: { pmin: 5, pmax: 60 },
    createdAt: NOW,
  };
}

/** Compare records as they would be persisted (JSON drops undefined fields). */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

describe('server-store: FileRegistrationStore', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  let warnings: string[];
  const stores: FileRegistrationStore[] = [];

  async function openStore(options: FileStoreOptions = {}): Promise<FileRegistrationStore> {
    const store = await FileRegistrationStore.open(file, { onWarning: (m) => warnings.push(m), ...options });
    stores.push(store);
    return store;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lwm2m-store-'));
    file = join(dir, 'registrations.jsonl');
    warnings = [];
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('starts empty without a file, and creates its folder', async () => {
    file = join(dir, 'nested', 'deeper', 'store.jsonl');
    const store = await openStore();
    assert.equal(store.size, 0);
    assert.deepEqual(store.loadReport, { registrations: 0, observations: 0, expired: [], droppedObservations: 0 });
    store.add(register('a'));
    await store.close();
    assert.ok(existsSync(file));
    assert.deepEqual(warnings, []);
  });

  it('keeps registrations and observations across a restart (a new store on the same file)', async () => {
    const first = await openStore();
    const a = register('a', 1);
    const b = register('b', 2);
    first.add(a);
    first.add(b);
    const updated = applyUpdate(a, { lt: '7200', rssi: '-80' }, '</1/0>,</3/0>,</5/0>', { now: NOW + 1000 });
    first.update(updated);
    first.addObservation(observation('0102', a.id));
    first.addObservation({ token: 'ff', registrationId: b.id, paths: ['/3/0'], kind: 'single', createdAt: NOW });
    await first.close();

    const second = await openStore();
    assert.equal(second.size, 2);
    assert.deepEqual(plain(second.get(a.id)), plain(updated));
    assert.deepEqual(plain(second.getByEndpoint('b')), plain(b));
    assert.equal(second.getByPeer(b.peer.key)?.id, b.id);
    assert.deepEqual(second.getObservation('0102'), observation('0102', a.id));
    assert.deepEqual(second.getObservation('ff'), { token: 'ff', registrationId: b.id, paths: ['/3/0'], kind: 'single', createdAt: NOW });
    assert.equal(second.nextExpiry(), b.expiresAt);
    assert.deepEqual(second.loadReport, { registrations: 2, observations: 2, expired: [], droppedObservations: 0 });
    // Loaded records share object lists like parsed ones do.
    assert.equal(second.getByEndpoint('b')!.objects, b.objects);
    assert.ok(Object.isFrozen(second.get(a.id)));
  });

  it('persists removals and replacements', async () => {
    const first = await openStore();
    const a = register('a', 1);
    const b = register('b', 2);
    first.add(a);
    first.add(b);
    first.addObservation(observation('01', a.id));
    await first.flush();
    first.remove(a.id);
    const b2 = register('b', 3);
    first.add(b2);
    await first.close();

    const second = await openStore();
    assert.deepEqual(
      [...second.registrations()].map((r) => r.id),
      [b2.id],
    );
    assert.equal(second.observationCount, 0);
  });

  it('writes changes by itself within the flush delay, coalesced', async () => {
    const store = await openStore({ flushDelayMs: 50 });
    for (let i = 0; i < 100; i++) store.add(register(`dev${i}`, i));
    // Nothing is written at once...
    assert.equal(existsSync(file), false);
    // ...but soon after, without flush().
    for (let waited = 0; !existsSync(file) && waited < 5000; waited += 10) await sleep(10);
    await sleep(100);
    const text = await readFile(file, 'utf8');
    assert.equal(text.trim().split('\n').length, 1 + 100);
  });

  it('close() saves pending changes at once and releases its timer', async () => {
    const store = await openStore({ flushDelayMs: 60_000 });
    // Counted after the first await: the test runner arms its own timeout timer then.
    const timersBefore = countTimers();
    store.add(register('a'));
    assert.equal(countTimers(), timersBefore + 1);
    await store.close();
    assert.equal(countTimers(), timersBefore);
    const reopened = await openStore();
    assert.equal(reopened.size, 1);
  });

  it('removes a temporary file left by a crash and loads the last complete file', async () => {
    const first = await openStore();
    const a = register('a');
    first.add(a);
    await first.close();
    // A save that crashed half-way leaves a truncated temporary file beside the store file.
    const stray = `${file}.tmp-99999-deadbeef`;
    await writeFile(stray, '{"format":"lwm2m-server-store","version":1}\n{"registration":{"id":"x","endp');

    const second = await openStore();
    assert.equal(second.size, 1);
    assert.equal(second.get(a.id)?.endpoint, 'a');
    assert.equal(existsSync(stray), false);
    assert.deepEqual(warnings, []);
  });

  it('never shows a partial file: readers see the old file or the new one', async () => {
    const store = await openStore();
    const regs: Registration[] = [];
    for (let i = 0; i < 3000; i++) {
      const reg = register(`dev${i}`, i);
      regs.push(reg);
      store.add(reg);
    }
    await store.flush();
    for (const reg of regs) store.update(applyUpdate(reg, { lt: '100' }, undefined, { now: NOW + 1 }));
    for (let i = 0; i < 500; i++) store.add(register(`extra${i}`, i));

    let done = false;
    const saving = store.flush().finally(() => (done = true));
    const seen = new Set<number>();
    let reads = 0;
    while (!done || reads === 0) {
      const lines = (await readFile(file, 'utf8')).split('\n').filter((line) => line !== '');
      for (const line of lines) JSON.parse(line); // every line complete
      seen.add(lines.length - 1);
      reads++;
    }
    await saving;
    for (const count of seen) assert.ok(count === 3000 || count === 3500, `saw a file with ${count} registrations`);
    const names = await readdir(dir);
    assert.deepEqual(names, ['registrations.jsonl'], 'no temporary file left behind');
  });

  it('moves a corrupt file aside with one warning and starts empty', async () => {
    await writeFile(file, '{"format":"lwm2m-server-store","version":1}\n{"registration":{"id":"abc", "endpoint":');
    const store = await openStore();
    assert.equal(store.size, 0);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /corrupt/);
    const aside = store.loadReport.movedAside!;
    assert.match(aside, /registrations\.jsonl\.corrupt-\d+$/);
    assert.match(await readFile(aside, 'utf8'), /"endpoint":$/);
    assert.equal(existsSync(file), false);

    // The store works and saves a fresh file.
    store.add(register('a'));
    await store.close();
    assert.equal((await openStore()).size, 1);
    assert.equal(warnings.length, 1);
  });

  const header = '{"format":"lwm2m-server-store","version":1}';
  const corruptContents: [string, string, RegExp][] = [
    ['binary garbage', '\u0000\u0001garbage', /line 1/],
    ['an empty file', '', /line 1/],
    ['another JSON document', '{"hello":"world"}\n', /not a registration store file/],
    ['a record without its endpoint', `${header}\n{"registration":{"id":"x","lifetime":60}}\n`, /line 2: .*expected/],
    [
      'a wrong field type',
      `${header}\n${JSON.stringify({ registration: { ...(plain(register('a')) as object), lifetime: 'long' } })}\n`,
      /line 2: lifetime/,
    ],
    [
      'a malformed observation token',
      `${header}\n${JSON.stringify({ observation: { ...observation('01', 'x'), token: 'xyz' } })}\n`,
      /line 2: token/,
    ],
    ['a registration id twice', `${header}\n${twice(JSON.stringify({ registration: register('a') }))}`, /appears twice/],
  ];
  for (const [what, content, reason] of corruptContents) {
    it(`treats ${what} as corrupt`, async () => {
      await writeFile(file, content);
      const store = await openStore();
      assert.equal(store.size, 0);
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0]!, reason);
      assert.ok(store.loadReport.movedAside && existsSync(store.loadReport.movedAside));
    });
  }

  it('moves aside a store path that cannot be read as a file', async () => {
    await mkdir(file);
    const store = await openStore();
    assert.equal(store.size, 0);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /cannot be read/);
    store.add(register('a'));
    await store.close();
    assert.equal((await openStore()).size, 1);
  });

  it('tolerates fields and lines written by a later version', async () => {
    const reg = register('future', 1);
    const lines = [
      JSON.stringify({ format: 'lwm2m-server-store', version: 2, savedAt: NOW, compression: 'none' }),
      JSON.stringify({ registration: { ...(plain(reg) as object), firmwareState: 'idle', peer: { ...reg.peer, cid: 'abcd' } } }),
      JSON.stringify({ observation: { ...observation('0a', reg.id), priority: 3 } }),
      JSON.stringify({ bootstrapConfig: { endpoint: 'x' } }),
      '',
    ];
    await writeFile(file, lines.join('\n'));
    const store = await openStore();
    assert.deepEqual(warnings, []);
    assert.deepEqual(plain(store.get(reg.id)), plain(reg));
    assert.deepEqual(store.getObservation('0a'), observation('0a', reg.id));
  });

  it('drops and reports registrations that expired while the server was down', async () => {
    const first = await openStore();
    const gone = register('gone', 1, 60, NOW - 120_000);
    const late = register('late', 2, 60, NOW - 61_000);
    const alive = register('alive', 3, 3600);
    first.add(gone);
    first.add(late);
    first.add(alive);
    first.addObservation(observation('01', gone.id));
    first.addObservation(observation('02', alive.id));
    await first.close();

    const second = await openStore({ now: () => NOW, expiryGraceMs: 5_000 });
    assert.deepEqual(
      second.loadReport.expired.map((r) => r.endpoint),
      ['gone'],
    );
    assert.equal(second.loadReport.droppedObservations, 1);
    assert.equal(second.loadReport.registrations, 2);
    assert.equal(second.get(gone.id), undefined);
    assert.equal(second.getObservation('01'), undefined);
    await second.close();

    // The file no longer holds it: the next start reports nothing again.
    const third = await openStore({ now: () => NOW, expiryGraceMs: 5_000 });
    assert.deepEqual(third.loadReport.expired, []);
    assert.equal(third.size, 2);
  });

  it('reports a failing save once, keeps the changes and saves them when it can', async () => {
    const store = await openStore({ flushDelayMs: 10 });
    // A non-empty folder where the file should go makes every rename fail.
    await mkdir(join(file, 'blocker'), { recursive: true });
    store.add(register('a'));
    await assert.rejects(store.flush());
    await assert.rejects(store.flush());
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /cannot save/);
    assert.deepEqual((await readdir(dir)).sort(), ['registrations.jsonl'], 'no temporary file left behind');

    await rm(file, { recursive: true });
    // Retried by itself once the way is clear.
    for (let waited = 0; !existsSync(file) && waited < 10_000; waited += 20) await sleep(20);
    assert.match(await readFile(file, 'utf8'), /"endpoint":"a"/);
    store.add(register('b', 2));
    await store.close();
    const reopened = await openStore();
    assert.deepEqual(
      [...reopened.registrations()].map((r) => r.endpoint).sort(),
      ['a', 'b'],
    );
  });

  it('saves and loads 10 000 registrations', async () => {
    const store = await openStore();
    for (let i = 0; i < 10_000; i++) {
      const reg = register(`urn:dev:${i}`, i);
      store.add(reg);
      if (i % 10 === 0) store.addObservation(observation(i.toString(16).padStart(4, '0'), reg.id));
    }
    let started = process.hrtime.bigint();
    await store.close();
    const saveMs = Number(process.hrtime.bigint() - started) / 1e6;

    started = process.hrtime.bigint();
    const reopened = await openStore();
    const loadMs = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(reopened.size, 10_000);
    assert.equal(reopened.observationCount, 1000);
    assert.equal(reopened.getByEndpoint('urn:dev:9999')?.peer.identity, 'psk-9999');
    const bytes = (await readFile(file)).length;
    console.log(`      10 000 registrations: save ${saveMs.toFixed(0)} ms, load ${loadMs.toFixed(0)} ms, ${bytes} bytes`);
  });
});

function twice(line: string): string {
  return `${line}\n${line}\n`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function countTimers(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}
