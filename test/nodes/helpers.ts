/**
 * Shared pieces of the Node-RED node tests: the test helper (typed here,
 * it ships no types), flow builders, a message inbox for helper nodes,
 * status/error spies, and a scripted device registered with the server of
 * a loaded flow.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import bootstrapNode from '../../nodes/lwm2m-bootstrap.js';
import bootstrapServerNode from '../../nodes/lwm2m-bootstrap-server.js';
import clientNode from '../../nodes/lwm2m-client.js';
import clientInNode from '../../nodes/lwm2m-client-in.js';
import clientOutNode from '../../nodes/lwm2m-client-out.js';
import eventsNode from '../../nodes/lwm2m-events.js';
import observeNode from '../../nodes/lwm2m-observe.js';
import requestNode from '../../nodes/lwm2m-request.js';
import serverNode from '../../nodes/lwm2m-server.js';
import type { NodeMessage, NodeStatus } from '../../nodes/node-red-types.js';
import type { ServerRuntime } from '../../nodes/lib/server-runtime.js';
import { ScriptedClient } from '../server/helpers.js';

/** A call recorded by the helper's sinon spies on Node.prototype. */
interface SpyCall {
  readonly thisValue: unknown;
  readonly args: unknown[];
}
interface Spy {
  getCalls(): SpyCall[];
}

export interface HelperNode {
  readonly id: string;
  readonly type: string;
  on(event: 'input', listener: (msg: NodeMessage) => void): void;
  receive(msg: NodeMessage): void;
  status: Spy;
  error: Spy;
  warn: Spy;
  runtime?: ServerRuntime;
}

interface HttpAnswer {
  readonly status: number;
  readonly body: unknown;
}

interface TestHelper {
  init(runtimePath: string, userSettings?: object): void;
  settings(userSettings: object): object;
  /** `credentials`: node id → credential values, as the editor would deploy them. */
  load(nodes: unknown[], flow: object[], credentials?: Record<string, Record<string, unknown>>): Promise<void>;
  unload(): Promise<void>;
  /** Deploys a new configuration as the editor would ('nodes' = modified nodes only). */
  setFlows(flow: object[], type: 'full' | 'flows' | 'nodes'): Promise<void>;
  getNode(id: string): HelperNode | null;
  request(): { get(url: string): PromiseLike<HttpAnswer> };
}

export const helper = require('node-red-node-test-helper') as TestHelper;
helper.init(require.resolve('node-red'));

export const PACKAGE_NODES = [serverNode, eventsNode, requestNode, observeNode, clientNode, clientInNode, clientOutNode, bootstrapServerNode, bootstrapNode];

/** A core node module of the installed Node-RED, e.g. 'common/20-inject.js'. */
export function coreNode(file: string): unknown {
  const path = require.resolve(`@node-red/nodes/core/${file}`, { paths: [require.resolve('node-red')] });
  return require(path) as unknown;
}

export const TAB = { id: 'flow1', type: 'tab', label: 'test flow' };

/** A server config node on a free loopback port, without persistence unless asked. */
export function serverConfig(id = 'srv', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, type: 'lwm2m-server', address: '127.0.0.1', port: '0', timeout: '1.5', grace: '10', persist: false, ...extra };
}

export async function loadFlow(flow: object[], userSettings: object = {}): Promise<void> {
  helper.settings({ userDir: undefined, ...userSettings });
  await helper.load(PACKAGE_NODES, flow);
}

export function node(id: string): HelperNode {
  const found = helper.getNode(id);
  if (!found) throw new Error(`node ${id} is not in the flow`);
  return found;
}

export function runtimeOfNode(id = 'srv'): ServerRuntime {
  const runtime = node(id).runtime;
  if (!runtime) throw new Error(`node ${id} has no runtime`);
  return runtime;
}

export function serverOf(id = 'srv'): Promise<Lwm2mServer> {
  return runtimeOfNode(id).ready();
}

/** Messages arriving at a helper node, in order. */
export class Inbox {
  private readonly queue: NodeMessage[] = [];
  private waiter: ((msg: NodeMessage) => void) | undefined;

  constructor(id: string) {
    node(id).on('input', (msg) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(msg);
      } else this.queue.push(msg);
    });
  }

  next(timeoutMs = 3000): Promise<NodeMessage> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (msg) => {
        clearTimeout(timer);
        resolve(msg);
      };
    });
  }

  /** Resolves with what arrived within `ms` (expecting nothing, typically). */
  async drain(ms: number): Promise<NodeMessage[]> {
    await delay(ms);
    return this.queue.splice(0);
  }
}

function callsOf(spy: Spy, target: HelperNode): unknown[][] {
  return spy.getCalls().filter((c) => c.thisValue === target).map((c) => c.args);
}

export function statuses(id: string): NodeStatus[] {
  const n = node(id);
  return callsOf(n.status, n).map((args) => args[0] as NodeStatus);
}

export function lastStatus(id: string): NodeStatus | undefined {
  const all = statuses(id);
  return all[all.length - 1];
}

/** node.error calls: [error, msg]. */
export function errors(id: string): { error: unknown; msg: NodeMessage | undefined }[] {
  const n = node(id);
  return callsOf(n.error, n).map((args) => ({ error: args[0], msg: args[1] as NodeMessage | undefined }));
}

export function warnings(id: string): unknown[] {
  const n = node(id);
  return callsOf(n.warn, n).map((args) => args[0]);
}

/** Polls until `check` holds (for statuses and errors that arrive asynchronously). */
export async function eventually(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A scripted device registered with the server of config node `serverId`. */
export async function registerDevice(
  serverId: string,
  endpoint: string,
  options: { version?: string; objects?: string; query?: string[] } = {},
): Promise<ScriptedClient> {
  const server = await serverOf(serverId);
  const client = await ScriptedClient.connect(server);
  const res = await client.register(
    [`ep=${endpoint}`, 'lt=60', `lwm2m=${options.version ?? '1.1'}`, 'b=U', ...(options.query ?? [])],
    options.objects ?? '</1/0>,</3/0>,</3303/0>',
  );
  if (res.code !== '2.01') throw new Error(`register answered ${res.code}`);
  return client;
}

/** A temporary folder removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
