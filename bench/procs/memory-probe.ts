/**
 * Preloaded (node --require) into a process the bench does not write, such
 * as Node-RED's own red.js, to read its memory from inside: answers
 * {type:'figures'} with RSS and heap after a forced GC (needs --expose-gc)
 * and ends the process on 'stop' or when the bench goes away.
 */
import { processFigures, send, serve } from '../lib/child.js';

if (process.send) serve({ figures: () => send(processFigures(true)) });
