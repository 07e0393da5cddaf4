/**
 * Scenario "peers": other JavaScript LwM2M servers under the registration
 * load generator (lib/registration-load.ts): N distinct endpoints, 64 in
 * flight, each a real Register with a link-format body. Figures per peer:
 * registrations/s and RSS bytes per registration (RSS after − before,
 * both after a forced GC, divided by N). A peer that is not installed gets
 * a row saying so. The same load is what the server scenarios point at
 * our own server.
 */
import * as path from 'node:path';
import { BenchChild, type ChildMessage } from '../lib/proc.js';
import { PEERS, peerVersion, resolvePeer } from '../lib/peers.js';
import { measureRegistrationRun, type ServerMemory } from '../lib/registrations.js';
import { formatNumber } from '../lib/table.js';
import type { Measurement, Scenario } from '../scenario.js';

export const REGISTRATION_LOAD = { endpoints: 10_000, quickEndpoints: 2_000, inFlight: 64 };

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
}

export const peersScenario: Scenario = {
  name: 'peers',
  description: `registrations/s and RSS bytes/registration of other JS LwM2M servers (${REGISTRATION_LOAD.endpoints} endpoints, ${REGISTRATION_LOAD.inFlight} in flight)`,
  async run(options) {
    const endpoints = options.quick ? REGISTRATION_LOAD.quickEndpoints : REGISTRATION_LOAD.endpoints;
    const rows: Measurement[] = [];
    const baseName = PEERS[0]!.name;
    for (const peer of PEERS) {
      const modulePath = resolvePeer(peer.pkg, options.repoRoot, options.peersDir);
      const version = modulePath ? peerVersion(peer.pkg, modulePath) : undefined;
      const rateBase = {
        key: `peers/${peer.name}/rate`,
        scenario: 'peers',
        case: `${peer.name} ${version ?? `(npm ${peer.pkg})`}, ${formatNumber(endpoints)} Registers × ${REGISTRATION_LOAD.inFlight} in flight`,
        metric: 'registrations/s',
        baseline: `peers/${baseName}/rate`,
      };
      const memBase = {
        key: `peers/${peer.name}/rss`,
        scenario: 'peers',
        case: `${peer.name}, after ${formatNumber(endpoints)} registrations`,
        metric: 'RSS bytes/registration',
        baseline: `peers/${baseName}/rss`,
      };
      if (!modulePath) {
        const skipped = `not installed (${peer.howToGet})`;
        rows.push({ ...rateBase, samples: [], skipped }, { ...memBase, samples: [], skipped });
        continue;
      }
      const rates: number[] = [];
      const rss: number[] = [];
      const heap: number[] = [];
      const problems = new Set<string>();
      let error: string | undefined;
      for (let run = 1; run <= options.runs && !error; run++) {
        const server = new BenchChild(path.join(options.benchDir, 'procs', 'peer-server.js'), `${peer.name} server`, {
          args: [JSON.stringify({ peer: peer.name, modulePath })],
          execArgv: ['--expose-gc'],
          lifetimeMs: 120_000,
        });
        try {
          const { port } = await server.next<ChildMessage & { port: number }>('ready', 20_000);
          const memory = (): Promise<ServerMemory> => server.ask<ChildMessage & ServerMemory>({ type: 'figures' }, 'figures', 10_000);
          const r = await measureRegistrationRun(options.benchDir, memory, port, {
            endpoints,
            inFlight: REGISTRATION_LOAD.inFlight,
            maxDurationMs: 90_000,
          });
          options.log(`  ${peer.name}, run ${run}: ${Math.round(r.rate)} registrations/s, ${Math.round(r.rssPerRegistration)} RSS bytes/registration`);
          if (r.load.registered < endpoints) {
            problems.add(`${endpoints - r.load.registered} of ${endpoints} not registered (${JSON.stringify(r.load.codes)})`);
          }
          if (r.distinctLocations < r.load.registered) problems.add(`only ${r.distinctLocations} distinct Location-Paths`);
          if (r.load.retransmissions > 0) problems.add(`${r.load.retransmissions} retransmissions`);
          // LwM2M wants each Location-Path segment in its own option ("rd", "<id>").
          const joined = r.load.locations.find((l) => l?.some((segment) => segment.includes('/')));
          if (joined) problems.add(`sends Location-Path as one option ("${joined.join('", "')}")`);
          if (r.load.registered > 0) {
            rates.push(r.rate);
            rss.push(r.rssPerRegistration);
            heap.push(r.heapPerRegistration);
          }
        } catch (err) {
          error = err instanceof Error ? err.message : String(err);
        } finally {
          await server.stop();
        }
      }
      const notes = [...problems];
      const rateNote = notes.join('; ');
      const memNote = [heap.length ? `heap ${formatNumber(median(heap))} bytes/registration` : '', ...notes].filter((t) => t).join('; ');
      rows.push(
        { ...rateBase, samples: rates, ...(rateNote ? { note: rateNote } : {}), ...(error ? { error } : {}) },
        { ...memBase, samples: rss, ...(memNote ? { note: memNote } : {}), ...(error ? { error } : {}) },
      );
    }
    return rows;
  },
};
