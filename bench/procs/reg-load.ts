/**
 * Registration load process (see lib/registration-load.ts).
 * argv[2]: RegistrationLoadParams as JSON. Opens nothing until
 * {type:'go'}; answers with {type:'result', ...RegistrationLoadResult}.
 */
import { fail, params, send, serve } from '../lib/child.js';
import { runRegistrationLoad, type RegistrationLoadParams } from '../lib/registration-load.js';

function main(): void {
  const p = params<RegistrationLoadParams>();
  serve({
    go: async () => {
      const result = await runRegistrationLoad(p);
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
