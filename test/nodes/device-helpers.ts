/**
 * Shared pieces of the device-side node tests (lwm2m-client, -in, -out)
 * and the bootstrap node tests: free loopback ports, config node builders,
 * the runtimes behind config nodes, and event waiting on engines.
 */
import { createSocket } from 'node:dgram';
import type { IncomingRequest, OutgoingResponse } from '../../src/coap/api.js';
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import { udpPeer } from '../../src/coap/transport.js';
import { FAST } from '../server/helpers.js';
import type { BootstrapRuntime } from '../../nodes/lib/bootstrap-runtime.js';
import type { ClientRuntime, ClientState } from '../../nodes/lib/client-runtime.js';
import { eventually, node } from './helpers.js';

/** A UDP port that was free a moment ago on 127.0.0.1 (for a flow whose client must know its server's port). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** An lwm2m-client config node registering with `coap://127.0.0.1:<serverPort>`. */
export function clientConfig(serverPort: number, id = 'dev', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    type: 'lwm2m-client',
    endpoint: 'dev-1',
    uri: `coap://127.0.0.1:${serverPort}`,
    version: '1.1',
    lifetime: '60',
    queue: false,
    port: '0',
    manufacturer: 'ACME',
    model: 'T-1000',
    serial: '',
    firmware: '',
    objects: '3303/0',
    values: '{"/3303/0": {"5700": 21.5, "5701": "Cel"}}',
    ...extra,
  };
}

export function clientRuntimeOf(id = 'dev'): ClientRuntime {
  const runtime = (node(id) as unknown as { runtime?: ClientRuntime }).runtime;
  if (!runtime) throw new Error(`node ${id} has no client runtime`);
  return runtime;
}

export function bootstrapRuntimeOfNode(id = 'bs'): BootstrapRuntime {
  const runtime = (node(id) as unknown as { runtime?: BootstrapRuntime }).runtime;
  if (!runtime) throw new Error(`node ${id} has no bootstrap runtime`);
  return runtime;
}

/** Waits until the device of config node `id` is in `status`. */
export function clientState(status: ClientState['status'], id = 'dev', timeoutMs = 5000): Promise<void> {
  return eventually(() => clientRuntimeOf(id).state.status === status, `client ${id} ${status}`, timeoutMs);
}

/** A device that asks for a bootstrap and answers every step as `answer` says (2.02 / 2.04 by default). */
export class BootstrappingDevice {
  readonly seen: string[] = [];
  answer: (req: IncomingRequest) => OutgoingResponse | undefined = () => undefined;

  private constructor(readonly endpoint: CoapEndpoint) {
    endpoint.onRequest((req) => {
      this.seen.push(`${req.method} /${req.path.join('/')}`);
      const scripted = this.answer(req);
      if (scripted) return scripted;
      if (req.method === 'DELETE') return { code: '2.02' };
      if (req.method === 'PUT') return { code: '2.04' };
      if (req.method === 'POST' && req.path.join('/') === 'bs') return { code: '2.04' };
      return { code: '4.05' };
    });
  }

  static async open(): Promise<BootstrappingDevice> {
    return new BootstrappingDevice(await CoapEndpoint.udp({ address: '127.0.0.1', port: 0, parameters: FAST, requestTimeoutMs: 1000 }));
  }

  request(port: number, endpoint: string): Promise<string> {
    return this.endpoint.request(udpPeer('127.0.0.1', port), { method: 'POST', path: ['bs'], query: [`ep=${endpoint}`] }).then((res) => res.code);
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }
}
