/**
 * Register + De-register load process (see lib/cycle-load.ts).
 * argv[2]: CycleLoadParams as JSON. Opens nothing until {type:'go'};
 * answers with {type:'result', ...CycleLoadResult}.
 */
import { fail, params, send, serve } from '../lib/child.js';
import { runCycleLoad, type CycleLoadParams } from '../lib/cycle-load.js';

function main(): void {
  const p = params<CycleLoadParams>();
  serve({
    go: async () => {
      const result = await runCycleLoad(p);
      send({ type: 'result', ...result });
    },
  });
  send({ type: 'ready' });
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    fail(err);
  }
}
