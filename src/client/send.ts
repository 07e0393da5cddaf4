/**
 * What a LwM2M Send carries (Core TS §6.4.x, `POST /dp`): the current
 * values of some paths, or batched readings — several timestamped values
 * per path — which keep their timestamps (SenML `t`).
 */
import { CoapCode, Lwm2mError } from '../errors.js';
import type { ModelLookup } from '../model/definitions.js';
import { formatPath, parsePath, type Lwm2mPath } from '../model/path.js';
import { fromPlain } from '../model/plain.js';
import type { Lwm2mNode, PathNode } from '../model/value.js';

/** A plain value, or timestamped values (time: a Date or seconds since the epoch). */
export type SendValue = unknown | ReadonlyArray<{ readonly value: unknown; readonly time?: Date | number }>;

/** A leaf node with a timestamp (seconds). */
function withTime(node: Lwm2mNode, time: number, path: Lwm2mPath): Lwm2mNode {
  if (node.kind === 'resource' || node.kind === 'resourceInstance') return { ...node, time };
  if (node.kind === 'multipleResource') {
    return { ...node, instances: new Map([...node.instances].map(([id, ri]) => [id, { ...ri, time }])) };
  }
  throw new Lwm2mError(CoapCode.BadRequest, `timestamped readings need a resource or resource-instance path, not ${formatPath(path)}`);
}

/** Path nodes for `{ [path]: value | [{ value, time }] }`, typed by the model. */
export function readingsToEntries(data: Readonly<Record<string, SendValue>>, model: ModelLookup): PathNode[] {
  const out: PathNode[] = [];
  for (const [text, raw] of Object.entries(data)) {
    const path = parsePath(text);
    const readings = Array.isArray(raw) ? (raw as ReadonlyArray<{ value: unknown; time?: Date | number }>) : [{ value: raw }];
    for (const reading of readings) {
      const node = fromPlain(path, reading.value, model);
      const time = reading.time instanceof Date ? reading.time.getTime() / 1000 : reading.time;
      if (time !== undefined && !(typeof time === 'number' && Number.isFinite(time))) {
        throw new Lwm2mError(CoapCode.BadRequest, `reading of ${text}: time must be a Date or seconds since 1970`);
      }
      out.push({ path, node: time === undefined ? node : withTime(node, time, path) });
    }
  }
  return out;
}
