/**
 * Scenario "limit": what raw Node dgram can do on this machine, the
 * ceiling for any CoAP stack in Node. An echo server process answers every
 * datagram with itself; the load processes keep requests outstanding.
 */
import { measureRoundTripCase, SHAPES, type ShapeName } from '../lib/round-trips.js';
import { failedMeasurement, type Measurement, type Scenario } from '../scenario.js';

export const limitScenario: Scenario = {
  name: 'limit',
  description: 'raw dgram echo round trips/s: 1 socket × 16 in flight, 1000 sockets × 1',
  async run(options) {
    const rows: Measurement[] = [];
    for (const shape of ['oneSocket', 'manySockets'] as ShapeName[]) {
      const key = `limit/${shape}`;
      const base = { key, scenario: 'limit', case: `raw dgram echo, ${SHAPES[shape].label}`, metric: 'round trips/s', baseline: key };
      try {
        rows.push({ ...base, ...(await measureRoundTripCase(options, 'echo', shape)) });
      } catch (err) {
        rows.push(failedMeasurement(base, err));
      }
    }
    return rows;
  },
};
