/**
 * Scenario "coap": CoAP servers answering GET with 2.05 and a small
 * payload, under the same two load shapes as "limit" (load from raw dgram
 * sockets, requests built once with coap-packet): the bare node-coap
 * server (`coap` package) and our CoapEndpoint (src/coap). node-coap's
 * ratio is against the raw dgram echo of the same shape; ours is against
 * node-coap, with the ratio to the raw echo in the notes.
 */
import type { RoundTripServerKind } from '../procs/rr-server.js';
import { measureRoundTripCase, SHAPES, type ShapeName } from '../lib/round-trips.js';
import { failedMeasurement, type Measurement, type Scenario } from '../scenario.js';

const SERVERS: ReadonlyArray<{ kind: RoundTripServerKind; label: string }> = [
  { kind: 'node-coap', label: 'node-coap server' },
  { kind: 'endpoint', label: 'our CoapEndpoint' },
];

export const coapScenario: Scenario = {
  name: 'coap',
  description: 'GET → 2.05 round trips/s of node-coap and of our CoapEndpoint, same load shapes as "limit"',
  async run(options) {
    const rows: Measurement[] = [];
    for (const server of SERVERS) {
      for (const shape of ['oneSocket', 'manySockets'] as ShapeName[]) {
        const base = {
          key: `coap/${server.kind}/${shape}`,
          scenario: 'coap',
          case: `${server.label}, ${SHAPES[shape].label}`,
          metric: 'round trips/s',
          // node-coap is compared with the raw limit; ours with node-coap (and the limit, in the notes).
          ...(server.kind === 'node-coap'
            ? { baseline: `limit/${shape}` }
            : { baseline: `coap/node-coap/${shape}`, alsoVs: [`limit/${shape}`] }),
        };
        try {
          rows.push({ ...base, ...(await measureRoundTripCase(options, server.kind, shape)) });
        } catch (err) {
          rows.push(failedMeasurement(base, err));
        }
      }
    }
    return rows;
  },
};
