/**
 * The scenario registry: every scenario the bench knows, in run order.
 *
 * To add one (for instance the LwM2M server scenarios once
 * src/server/lwm2m-server.ts exists: registrations/s, Register+De-register
 * cycles/s, Reads/s against 1 000 simulated clients, notifications/s,
 * Send/s, RSS per registration at 10 000 and 100 000), write a module in
 * this folder that exports a `Scenario` (see ../scenario.ts), start the
 * server in a child process (lib/proc.ts, procs/*), drive it with the load
 * generators in lib/ (lib/registration-load.ts registers N endpoints and
 * returns each one's Location-Path), and add it to this list.
 */
import type { Scenario } from '../scenario.js';
import { coapScenario } from './coap.js';
import { codecsScenario } from './codecs.js';
import { limitScenario } from './limit.js';
import { memoryScenario } from './memory.js';
import { peersScenario } from './peers.js';

export const SCENARIOS: readonly Scenario[] = [limitScenario, coapScenario, codecsScenario, memoryScenario, peersScenario];

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
