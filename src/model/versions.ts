/**
 * Object versions ("1.0", "1.2", "2.0"): ordering, and which version of an
 * object serves a client that registered with a given `ver`.
 *
 * When a client registers an object without `ver` (defaultObjectVersion):
 * - a core object (one defined by the Core specification of the client's
 *   LwM2M version, `lwm2m=` in the Register request) is in the version that
 *   release defines: `</3/0>` from a 1.1 client is Device 1.1;
 * - any other object is version 1.0.
 * This is the Core specification's rule (Object Definition and Object
 * Version Usage) as Leshan implements it, and as the OMA answered in
 * OMA_LwM2M_for_Developers issue 131. Core object versions changed between
 * patch releases (Device 1.0 in LwM2M 1.1, 1.1 in 1.1.1); like Leshan we
 * take the latest patch release of each minor version (OMA issue 561).
 *
 * Then, among the versions we have (selectVersion):
 * - the version asked for, when we have it;
 * - else the closest lower version of the same major (a 1.3 client gets our
 *   1.2: minor versions are meant to stay backward compatible);
 * - else the latest version we have (better than nothing for names and types).
 */

/** Object version and LwM2M version assumed when none is given. */
export const DEFAULT_VERSION = '1.0';

/**
 * Versions of the core objects per LwM2M enabler version (latest patch
 * release of each). 1.0 and 1.1 as Leshan has them; 1.2 from the 1.2.x
 * core object releases (Security, Server, Device 1.2, Access Control 1.1,
 * Firmware Update 1.1, Connectivity Monitoring 1.3, OSCORE 2.0, and the
 * objects 23-27 new in 1.2 at 1.0).
 */
const CORE_OBJECT_VERSIONS: ReadonlyMap<string, ReadonlyMap<number, string>> = new Map([
  ['1.0', new Map([[0, '1.0'], [1, '1.0'], [2, '1.0'], [3, '1.0'], [4, '1.0'], [5, '1.0'], [6, '1.0'], [7, '1.0']])],
  ['1.1', new Map([
    [0, '1.1'], [1, '1.1'], [2, '1.0'], [3, '1.1'], [4, '1.2'], [5, '1.0'], [6, '1.0'], [7, '1.0'], [21, '1.0'],
  ])],
  ['1.2', new Map([
    [0, '1.2'], [1, '1.2'], [2, '1.1'], [3, '1.2'], [4, '1.3'], [5, '1.1'], [6, '1.0'], [7, '1.0'], [21, '2.0'],
    [23, '1.0'], [24, '1.0'], [25, '1.0'], [26, '1.0'], [27, '1.0'],
  ])],
]);

export interface ParsedVersion {
  readonly major: number;
  readonly minor: number;
}

/** Parses "major.minor"; undefined for anything else. */
export function parseVersion(version: string): ParsedVersion | undefined {
  const match = /^(\d+)\.(\d+)$/.exec(version);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]) };
}

/** Orders "major.minor" versions numerically ("1.9" < "1.10"); others sort last, by text. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (pa && pb) return pa.major - pb.major || pa.minor - pb.minor;
  if (pa) return -1;
  if (pb) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Removes spaces and the quotes link-format values may carry (ver="1.1"). */
function cleanVersion(text: string | undefined): string {
  return (text ?? '').trim().replace(/^"(.*)"$/, '$1').trim();
}

/**
 * The object version a client of LwM2M version `lwm2mVersion` ("1.0",
 * "1.1", "1.2", or a patch version like "1.1.1"; absent = 1.0) means when
 * it registers `objectId` without `ver`. An enabler version newer than we
 * know uses the newest table we have; an unreadable one counts as 1.0.
 */
export function defaultObjectVersion(objectId: number, lwm2mVersion?: string): string {
  const match = /^(\d+)\.(\d+)(?:\.\d+)?$/.exec(cleanVersion(lwm2mVersion));
  let table = CORE_OBJECT_VERSIONS.get(DEFAULT_VERSION);
  if (match) {
    const wanted = `${match[1]}.${match[2]}`;
    for (const [enabler, versions] of CORE_OBJECT_VERSIONS) {
      if (compareVersions(enabler, wanted) <= 0) table = versions;
    }
  }
  return table?.get(objectId) ?? DEFAULT_VERSION;
}

/**
 * Picks which of the `available` versions serves a client that asked for
 * `requested` (undefined or '' = 1.0; see defaultObjectVersion for what a
 * missing `ver` means), by the rules above.
 * Returns undefined only when nothing is available.
 */
export function selectVersion(available: readonly string[], requested?: string): string | undefined {
  if (available.length === 0) return undefined;
  const wanted = cleanVersion(requested) || DEFAULT_VERSION;
  if (available.includes(wanted)) return wanted;
  const sorted = [...available].sort(compareVersions);
  const target = parseVersion(wanted);
  if (target) {
    let best: string | undefined;
    for (const version of sorted) {
      const v = parseVersion(version);
      if (v && v.major === target.major && v.minor < target.minor) best = version;
    }
    if (best !== undefined) return best;
  }
  return sorted[sorted.length - 1];
}
