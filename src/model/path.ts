/**
 * LwM2M paths: `/`, `/o`, `/o/i`, `/o/i/r`, `/o/i/r/ri`.
 *
 * A path is a plain read-only array of ids ([] is the root, [3, 0, 9] is
 * /3/0/9). Arrays keep paths cheap to build and compare in hot code (every
 * request and every SenML record carries one), and `parsePath` is the only
 * door through which text becomes a path, so every path is valid.
 */
import { PathError } from '../errors.js';

export type Lwm2mPath = readonly number[];

/** Largest usable id: 65535 is reserved by the specification. */
export const MAX_ID = 65534;

export const ROOT_PATH: Lwm2mPath = Object.freeze([]);

/** Which level of the data model a path addresses. */
export type PathLevel = 'root' | 'object' | 'instance' | 'resource' | 'resourceInstance';

const LEVELS: readonly PathLevel[] = ['root', 'object', 'instance', 'resource', 'resourceInstance'];

export function pathLevel(path: Lwm2mPath): PathLevel {
  const level = LEVELS[path.length];
  if (level === undefined) throw new PathError(`path has ${path.length} segments, at most 4 allowed`);
  return level;
}

/** True when `id` is a usable LwM2M id (0..65534). */
export function isValidId(id: unknown): id is number {
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= MAX_ID;
}

/**
 * Parses "/3/0/9" (a leading slash is optional, a trailing one tolerated) into
 * [3, 0, 9]. Throws PathError with a message naming the bad segment.
 */
export function parsePath(text: string): Lwm2mPath {
  if (typeof text !== 'string') throw new PathError(`path must be a string, got ${typeof text}`);
  let body = text.trim();
  if (body === '' || body === '/') return ROOT_PATH;
  if (body.startsWith('/')) body = body.slice(1);
  if (body.endsWith('/')) body = body.slice(0, -1);
  const segments = body.split('/');
  if (segments.length > 4) {
    throw new PathError(`invalid path "${text}": at most 4 segments (/object/instance/resource/resource-instance)`);
  }
  const ids = segments.map((segment) => {
    if (!/^\d{1,5}$/.test(segment)) {
      throw new PathError(`invalid path "${text}": segment "${segment}" is not a number`);
    }
    const id = Number(segment);
    if (id > MAX_ID) {
      throw new PathError(`invalid path "${text}": id ${id} is out of range (0..${MAX_ID}, 65535 is reserved)`);
    }
    return id;
  });
  return Object.freeze(ids);
}

/** Builds a path from ids, validating each one. */
export function makePath(...ids: number[]): Lwm2mPath {
  if (ids.length > 4) throw new PathError(`path has ${ids.length} segments, at most 4 allowed`);
  for (const id of ids) {
    if (!isValidId(id)) throw new PathError(`invalid id ${String(id)} (0..${MAX_ID}, 65535 is reserved)`);
  }
  return Object.freeze(ids.slice());
}

/** Formats [3, 0, 9] as "/3/0/9" and [] as "/". */
export function formatPath(path: Lwm2mPath): string {
  return path.length === 0 ? '/' : '/' + path.join('/');
}

export function pathsEqual(a: Lwm2mPath, b: Lwm2mPath): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `path` is `prefix` or lies below it (/3/0/9 starts with /3/0). */
export function pathStartsWith(path: Lwm2mPath, prefix: Lwm2mPath): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) if (path[i] !== prefix[i]) return false;
  return true;
}

/** Orders paths as the data model does: by object, instance, resource, ... */
export function comparePaths(a: Lwm2mPath, b: Lwm2mPath): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Appends ids to a path (validated). */
export function childPath(path: Lwm2mPath, ...ids: number[]): Lwm2mPath {
  return makePath(...path, ...ids);
}
