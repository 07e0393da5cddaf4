/**
 * Other JavaScript LwM2M servers the registration figures are compared
 * with, and how to start each one. They are not dependencies of this
 * package: the bench finds them in the repository's node_modules or in
 * the folder given by --peers-dir / $BENCH_PEERS_DIR, and says so in the
 * table when one is missing.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/** A started peer server. */
export interface RunningPeer {
  close(): Promise<void>;
}

export interface PeerServer {
  /** Short name used in the table and the keys. */
  readonly name: string;
  /** The npm package. */
  readonly pkg: string;
  /** What to tell when it is missing. */
  readonly howToGet: string;
  /**
   * Starts the server on 127.0.0.1-reachable `port`, accepting every
   * registration. `lib` is what require(pkg) returned.
   */
  start(lib: unknown, port: number): Promise<RunningPeer>;
}

/** The subset of lwm2m-node-lib's server API used here. */
interface Lwm2mNodeLib {
  server: {
    start(config: object, cb: (err: Error | null | undefined, info?: unknown) => void): void;
    stop(info: unknown, cb: (err?: Error | null) => void): void;
  };
}

/** The subset of the `lwm2m` package (node-lwm2m) used here. */
interface NodeLwm2m {
  createServer(options: object): {
    on(event: 'register', listener: (params: unknown, accept: () => void) => void): void;
    on(event: 'error', listener: (err: Error) => void): void;
    listen(port: number, address: string, cb: (err?: Error) => void): void;
    close(cb: () => void): void;
  };
}

export const PEERS: readonly PeerServer[] = [
  {
    name: 'lwm2m-node-lib',
    pkg: 'lwm2m-node-lib',
    howToGet: 'npm install --no-save lwm2m-node-lib (in the repo or in --peers-dir)',
    async start(lib, port) {
      const server = (lib as Lwm2mNodeLib).server;
      // In-memory registry; the library binds its CoAP socket to all interfaces (it takes no address).
      const config = {
        port,
        lifetimeCheckInterval: 1000,
        udpWindow: 100,
        defaultType: 'Device',
        types: [],
        logLevel: 'FATAL',
        ipProtocol: 'udp4',
        serverProtocol: 'udp4',
        formats: [{ name: 'application-vnd-oma-lwm2m/tlv', value: 11542 }],
        writeFormat: 'application-vnd-oma-lwm2m/tlv',
      };
      let info: unknown;
      await new Promise<void>((resolve, reject) =>
        server.start(config, (err, result) => {
          info = result;
          if (err) reject(err);
          else resolve();
        }),
      );
      return { close: () => new Promise<void>((resolve) => server.stop(info, () => resolve())) };
    },
  },
  {
    name: 'node-lwm2m',
    pkg: 'lwm2m',
    howToGet: 'npm install --no-save lwm2m (the npm registry reached here answered 404 for "lwm2m")',
    async start(lib, port) {
      // Written from the package's documented API (createServer, 'register' + accept(), listen).
      const server = (lib as NodeLwm2m).createServer({ type: 'udp4' });
      server.on('register', (_params, accept) => accept());
      server.on('error', () => {});
      await new Promise<void>((resolve, reject) => server.listen(port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
      return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    },
  },
];

/**
 * Where require(pkg) would load the peer from: the repository first, then
 * the peers folder. Undefined when it is in neither.
 */
export function resolvePeer(pkg: string, repoRoot: string, peersDir?: string): string | undefined {
  for (const dir of [repoRoot, peersDir]) {
    if (!dir) continue;
    try {
      return createRequire(path.join(dir, 'package.json')).resolve(pkg);
    } catch {
      // not there
    }
  }
  return undefined;
}

/** The version in the package.json of the package that `modulePath` belongs to. */
export function peerVersion(pkg: string, modulePath: string): string | undefined {
  for (let dir = path.dirname(modulePath); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (json.name === pkg) return json.version;
    } catch {
      // no package.json here
    }
  }
  return undefined;
}
