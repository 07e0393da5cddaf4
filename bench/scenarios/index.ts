/**
 * The scenario registry: every scenario the bench knows, in run order.
 *
 * To add one, write a module in this folder that exports a `Scenario` (see
 * ../scenario.ts), start the system under test in a child process
 * (lib/proc.ts, procs/*), drive it with the load generators in lib/
 * (lib/registration-load.ts registers N endpoints and returns each one's
 * Location-Path; lib/sim-clients.ts simulates LwM2M clients that answer
 * reads, notify and Send; lib/cycle-load.ts registers and de-registers),
 * and add it to this list. "server" runs after "limit" and "peers": its
 * ratios point at their rows.
 */
import type { Scenario } from '../scenario.js';
import { coapScenario } from './coap.js';
import { codecsScenario } from './codecs.js';
import { limitScenario } from './limit.js';
import { memoryScenario } from './memory.js';
import { peersScenario } from './peers.js';
import { serverScenario } from './server.js';

export const SCENARIOS: readonly Scenario[] = [limitScenario, coapScenario, codecsScenario, memoryScenario, peersScenario, serverScenario];

/** The scenarios named by --only, in registry order; throws on an unknown name. */
export function selectScenarios(only: readonly string[] | undefined, all: readonly Scenario[] = SCENARIOS): Scenario[] {
  if (!only) return [...all];
  const known = new Set(all.map((s) => s.name));
  const unknown = only.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  }
  return all.filter((s) => only.includes(s.name));
}
