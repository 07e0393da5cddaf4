/**
 * One-off measurement, not a test: heap bytes per registration held in a
 * MemoryRegistrationStore (record + indexes + expiry heap).
 *
 *   node --expose-gc dist/test/server-store/memory-footprint.js [count]
 *
 * Two populations: devices of a few models (how a gateway fleet looks:
 * object lists shared), and devices that all announce a different object
 * list (the worst case for sharing).
 */
import { MemoryRegistrationStore } from '../../src/server/memory-store.js';
import { parseRegisterRequest, type Registration } from '../../src/server/registration.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with node --expose-gc');
  process.exit(2);
}

const count = Number(process.argv[2] ?? 100_000);

const MODELS = [
  '</>;rt="oma.lwm2m";ct=11543,</1/0>,</2/0>,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>,</31024/10>,</31024/11>',
  '</>;rt="oma.lwm2m";ct=110,</1>;ver=1.1,</1/0>,</3>;ver=1.1,</3/0>,</4/0>,</5/0>,</3303>;ver=1.1,</3303/0>,</3303/1>',
  '</>;rt="oma.lwm2m";ct="11544 112 110",</1>;ver=1.2,</1/1>,</3>;ver=1.2,</3/0>,</5/0>,</10/0>,</3304/0>,</3303/0>',
  '</1/0>,</3/0>,</3303/0>,</3303/1>,</3303/2>,</3303/3>,</3316/0>,</3328/0>',
];

function body(i: number, unique: boolean): string {
  const base = MODELS[i % MODELS.length]!;
  // The worst case: a vendor object whose instance id differs on every device.
  return unique ? `${base},</32769/${i % 65000}>,</32770/${(i * 7) % 65000}>` : base;
}

function build(i: number, unique: boolean, now: number): Registration {
  const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const port = 49152 + (i % 16000);
  return parseRegisterRequest(
    { ep: `urn:imei:35${String(i).padStart(13, '0')}`, lt: String(300 + (i % 3600)), lwm2m: i % 2 ? '1.1' : '1.0', b: 'U' },
    body(i, unique),
    { now, peer: { key: `${host}:${port}`, host, port, identity: `psk-${i}` } },
  );
}

function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

function measure(unique: boolean): void {
  const before = heapUsed();
  const store = new MemoryRegistrationStore();
  const now = Date.now();
  for (let i = 0; i < count; i++) store.add(build(i, unique, now));
  const after = heapUsed();
  const perRegistration = (after - before) / count;
  console.log(
    `${unique ? 'every device different' : 'four device models   '}: ${count} registrations, ` +
      `${((after - before) / 1048576).toFixed(1)} MiB, ${perRegistration.toFixed(0)} bytes/registration`,
  );
  // Keep the store alive until measured.
  if (store.size !== count) throw new Error('lost registrations');
}

measure(false);
measure(true);
