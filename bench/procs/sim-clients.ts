/**
 * A load process of the server scenarios: a share of the simulated LwM2M
 * clients (lib/sim-clients.ts). argv[2]: SimClientsParams as JSON. Opens
 * the sockets, sends {type:'ready'}, answers the server's reads and
 * observes by itself, and runs a phase per message:
 *   register {inFlight, maxDurationMs}             → {type:'registered', ...PhaseResult}
 *   sends {inFlight, warmupMs, durationMs}         → {type:'sent', ...PhaseResult}
 *   notify {nonPerCon, warmupMs, durationMs}       → {type:'notified', ...NotifyResult}
 *   counters                                       → {type:'counters', ...SimCounters, observed}
 */
import { fail, params, send, serve } from '../lib/child.js';
import { SimClients, type SimClientsParams } from '../lib/sim-clients.js';

async function main(): Promise<void> {
  const clients = await SimClients.open(params<SimClientsParams>());
  serve(
    {
      register: async (msg) => {
        const r = await clients.register({ inFlight: Number(msg.inFlight), maxDurationMs: Number(msg.maxDurationMs) });
        send({ type: 'registered', ...r });
      },
      sends: async (msg) => {
        const r = await clients.sends({ inFlight: Number(msg.inFlight), warmupMs: Number(msg.warmupMs), durationMs: Number(msg.durationMs) });
        send({ type: 'sent', ...r });
      },
      notify: async (msg) => {
        const r = await clients.notify({ nonPerCon: Number(msg.nonPerCon), warmupMs: Number(msg.warmupMs), durationMs: Number(msg.durationMs) });
        send({ type: 'notified', ...r });
      },
      counters: () => send({ type: 'counters', ...clients.counters, observed: clients.observedCount }),
    },
    () => clients.close(),
  );
  send({ type: 'ready' });
}

if (require.main === module) main().catch(fail);
