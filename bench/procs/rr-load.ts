/**
 * Load generator process of the round-trip scenarios (see
 * lib/round-trip-load.ts). argv[2]: RoundTripLoadParams as JSON.
 * Binds its sockets, sends {type:'ready'}, waits for {type:'go'}, then
 * sends {type:'result', ...RoundTripLoadResult}.
 */
import { fail, params, send, serve } from '../lib/child.js';
import { RoundTripLoad, type RoundTripLoadParams } from '../lib/round-trip-load.js';

async function main(): Promise<void> {
  const load = await RoundTripLoad.open(params<RoundTripLoadParams>());
  serve(
    {
      go: async () => {
        const result = await load.run();
        load.close();
        send({ type: 'result', ...result });
      },
    },
    () => load.close(),
  );
  send({ type: 'ready' });
}

if (require.main === module) main().catch(fail);
