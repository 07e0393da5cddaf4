/**
 * The requests a firmware job makes to its one device, with the job's
 * request options, and one repair: a device that registers anew while a
 * request waits (a reboot after the update) makes the server refuse the
 * request with "no longer registered" (4.04); such a request is sent once
 * more to the new registration instead of failing the job.
 */
import { CoapCode, Lwm2mError } from '../errors.js';
import type { ExecuteArgument } from '../model/execute-args.js';
import type { PlainTree } from '../model/plain.js';
import type { Lwm2mServer, RequestOptions } from './lwm2m-server.js';
import type { Registration } from './registration.js';

export class DeviceRequests {
  constructor(
    readonly server: Lwm2mServer,
    readonly endpoint: string,
    /** Options of each request, asked afresh (the queue timeout follows the phase). */
    private readonly options: () => RequestOptions,
  ) {}

  registration(): Registration | undefined {
    return this.server.getRegistration(this.endpoint);
  }

  requestOptions(extra: RequestOptions = {}): RequestOptions {
    return { ...this.options(), ...extra };
  }

  async read(path: string, extra?: RequestOptions): Promise<PlainTree> {
    return this.again(async () => (await this.server.read(this.endpoint, path, this.requestOptions(extra))).value);
  }

  /** Reads an integer resource; undefined when the device answers something else. */
  async readInteger(path: string, extra?: RequestOptions): Promise<number | undefined> {
    return integerOf(await this.read(path, extra));
  }

  write(path: string, value: unknown, extra?: RequestOptions): Promise<void> {
    return this.again(() => this.server.write(this.endpoint, path, value, this.requestOptions(extra)));
  }

  execute(path: string, args: readonly ExecuteArgument[] = [], extra?: RequestOptions): Promise<void> {
    return this.again(() => this.server.execute(this.endpoint, path, args, this.requestOptions(extra)));
  }

  /** Runs `op`; once more when it failed with 4.04 because the device registered anew meanwhile. */
  async again<T>(op: () => Promise<T>): Promise<T> {
    const before = this.registration()?.id;
    try {
      return await op();
    } catch (err) {
      const now = this.registration()?.id;
      if (err instanceof Lwm2mError && err.code === CoapCode.NotFound && now !== undefined && now !== before) return op();
      throw err;
    }
  }
}

/** A plain value as an integer (devices answer numbers; text/plain ones may come as strings). */
export function integerOf(value: PlainTree | undefined): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^-?\d{1,9}$/.test(value)) return Number(value);
  return undefined;
}

/** The values of a multiple-instance integer resource (`{ 0: 0, 1: 2 }`), or of a single one. */
export function integersOf(value: PlainTree | undefined): number[] {
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Date)) {
    return Object.values(value as Record<string, PlainTree>)
      .map(integerOf)
      .filter((n): n is number => n !== undefined);
  }
  const one = integerOf(value);
  return one === undefined ? [] : [one];
}
