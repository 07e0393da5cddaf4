/**
 * Keeping what a Bootstrap-Server provisioned across restarts, so that a
 * restarted device registers at once instead of bootstrapping again.
 *
 * What is kept: every instance of the Security (0), Server (1) and Access
 * Control (2) objects, and the instances of other objects that the
 * Bootstrap-Server created. Values are stored as SenML JSON records (the
 * format keeps every LwM2M type, opaque keys included), next to the list of
 * instances (SenML cannot show an instance without resources):
 *
 *   { "version": 1, "endpoint": "dev-1", "lwm2mVersion": "1.1", "savedAt": "...",
 *     "instances": ["/0/0", "/0/1", "/1/0"],
 *     "values": [{ "n": "/0/0/0", "vs": "coap://..." }, ...] }
 *
 * The file holds credentials: it is written atomically with mode 0600.
 */
import { Lwm2mError, CoapCode } from '../errors.js';
import { codecFor, ContentFormat } from '../formats/index.js';
import { formatPath, parsePath, type Lwm2mPath } from '../model/path.js';
import type { ObjectInstanceNode, PathNode } from '../model/value.js';
import { readFileIfExists, writeFileAtomic } from '../util/atomic-file.js';
import { ACCESS_CONTROL, SECURITY, SERVER } from './accounts.js';
import type { ObjectTree } from './object-tree.js';

export interface ProvisioningState {
  readonly version: 1;
  readonly endpoint: string;
  readonly lwm2mVersion: string;
  /** ISO time of the bootstrap that produced this state. */
  readonly savedAt: string;
  /** Every kept instance, "/o/i". */
  readonly instances: readonly string[];
  /** SenML JSON records of their values. */
  readonly values: readonly unknown[];
}

/** Where the provisioning state lives: a file (see fileProvisioningStore) or the application's own storage. */
export interface ProvisioningStore {
  /** The saved state, or undefined when nothing was saved yet. */
  load(): Promise<ProvisioningState | undefined>;
  save(state: ProvisioningState): Promise<void>;
}

const PROVISIONING_OBJECTS = [SECURITY, SERVER, ACCESS_CONTROL];

function invalid(where: string, message: string): Lwm2mError {
  return new Lwm2mError(CoapCode.BadRequest, `${where}: ${message}`);
}

/** Checks the shape of a loaded state (a hook or a file may hand anything over). */
export function validateProvisioningState(data: unknown, where: string): ProvisioningState {
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw invalid(where, 'not an object');
  const d = data as Record<string, unknown>;
  if (d.version !== 1) throw invalid(where, `unknown version ${String(d.version)}`);
  if (typeof d.endpoint !== 'string') throw invalid(where, '"endpoint" must be a string');
  if (typeof d.lwm2mVersion !== 'string') throw invalid(where, '"lwm2mVersion" must be a string');
  if (!Array.isArray(d.instances) || !d.instances.every((p) => typeof p === 'string')) throw invalid(where, '"instances" must be a list of paths');
  for (const p of d.instances as string[]) {
    if (parsePath(p).length !== 2) throw invalid(where, `"${p}" is not an instance path`);
  }
  if (!Array.isArray(d.values)) throw invalid(where, '"values" must be a list of SenML records');
  return { version: 1, endpoint: d.endpoint, lwm2mVersion: d.lwm2mVersion, savedAt: String(d.savedAt ?? ''), instances: d.instances as string[], values: d.values };
}

/**
 * A store in one JSON file. A file that exists but does not parse is an
 * error (provisioning data is never thrown away silently).
 */
export function fileProvisioningStore(file: string): ProvisioningStore {
  return {
    async load() {
      const text = await readFileIfExists(file);
      if (text === undefined) return undefined;
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (err) {
        throw new Error(`client provisioning file ${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
      }
      return validateProvisioningState(data, `client provisioning file ${file}`);
    },
    save(state) {
      return writeFileAtomic(file, JSON.stringify(state, null, 2) + '\n');
    },
  };
}

/** The instances worth keeping (see the header). */
function keptInstances(tree: ObjectTree): Lwm2mPath[] {
  const out: Lwm2mPath[] = [];
  for (const oid of tree.objectIds()) {
    for (const iid of tree.instanceIds(oid)) {
      if (PROVISIONING_OBJECTS.includes(oid) || tree.instanceOrigin(oid, iid) === 'bootstrap') out.push([oid, iid]);
    }
  }
  return out;
}

/** The provisioning state of the tree now (stored values only). */
export async function captureProvisioning(tree: ObjectTree, endpoint: string, lwm2mVersion: string): Promise<ProvisioningState> {
  const paths = keptInstances(tree);
  const entries: PathNode[] = [];
  for (const path of paths) {
    const node = await tree.read(path, { origin: 'bootstrap' });
    if (node.kind === 'instance' && node.resources.size > 0) entries.push({ path, node });
  }
  const records = entries.length > 0 ? (JSON.parse(codecFor(ContentFormat.SENML_JSON).encode(entries, { model: tree.model }).toString('utf8')) as unknown[]) : [];
  return { version: 1, endpoint, lwm2mVersion, savedAt: new Date().toISOString(), instances: paths.map(formatPath), values: records };
}

/**
 * Puts a saved state into the tree: /0, /1 and /2 are replaced whole, the
 * other saved instances are created or replaced. Everything is decoded and
 * checked before the tree changes.
 */
export async function restoreProvisioning(tree: ObjectTree, state: ProvisioningState): Promise<void> {
  const where = 'client provisioning state';
  const paths = state.instances.map(parsePath);
  for (const [o] of paths) {
    if (!tree.hasObject(o as number) && !tree.resolveDefinition(o as number)) throw invalid(where, `object ${o} has no definition`);
  }
  const decoded = state.values.length === 0
    ? []
    : codecFor(ContentFormat.SENML_JSON).decode(Buffer.from(JSON.stringify(state.values)), { model: tree.model });
  const byPath = new Map<string, ObjectInstanceNode>();
  for (const { path, node } of decoded) {
    if (node.kind !== 'instance' || path.length !== 2) throw invalid(where, `values must be grouped by instance, not ${formatPath(path)}`);
    byPath.set(formatPath(path), node);
  }
  for (const key of byPath.keys()) {
    if (!state.instances.includes(key)) throw invalid(where, `values of ${key}, which is not in "instances"`);
  }
  for (const oid of PROVISIONING_OBJECTS) {
    if (!tree.hasObject(oid)) continue;
    for (const iid of tree.instanceIds(oid)) tree.removeInstance(oid, iid, 'bootstrap');
  }
  for (const path of paths) {
    const [o, i] = path as [number, number];
    tree.addObject(o);
    tree.removeInstance(o, i, 'bootstrap');
    const node = byPath.get(formatPath(path)) ?? { kind: 'instance', id: i, resources: new Map() };
    await tree.write(path, node, 'replace', { origin: 'bootstrap' });
  }
}
