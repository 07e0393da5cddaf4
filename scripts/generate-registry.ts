/**
 * Generates src/model/omna-facts.ts from the OMNA LwM2M registry DDF files.
 *
 *   npm run generate-registry            (reads ../shared/omna-registry)
 *   node dist/scripts/generate-registry.js <registry folder>
 *
 * Reads the latest files at the top of the folder and the older versions
 * in version_history/, keeps every object in every version (the same id and
 * version found twice must be identical), and writes facts only: no
 * descriptions. The output is sorted so that it only changes with the data.
 * The test suite renders it again in memory and compares with the committed
 * file, so a changed loader or registry shows up as a failing test.
 */
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { loadDdfFolder } from '../src/model/ddf.js';
import type { SkippedFile } from '../src/model/ddf.js';
import type { ObjectDefinition } from '../src/model/definitions.js';
import { encodeObject } from '../src/model/facts.js';
import type { ObjectFact } from '../src/model/facts.js';
import { compareVersions } from '../src/model/versions.js';

export interface OmnaRegistryData {
  /** One definition per object id and version, sorted by id then version. */
  readonly definitions: ObjectDefinition[];
  /** The snapshot the folder's README names ("prod branch, commit ..."), if any. */
  readonly snapshot: string | undefined;
  /** Files that are not object definitions. */
  readonly skipped: SkippedFile[];
}

/** The registry folder used when none is given: ../shared/omna-registry from the repo root. */
export function defaultRegistryDir(): string {
  return path.resolve(process.cwd(), '..', 'shared', 'omna-registry');
}

/** Where the generated module goes. */
export function factsFile(): string {
  return path.resolve(process.cwd(), 'src', 'model', 'omna-facts.ts');
}

async function readSnapshot(dir: string): Promise<string | undefined> {
  try {
    const readme = await readFile(path.join(dir, 'README.md'), 'utf8');
    const match = /`(\w+)` branch at commit (\w+) \(([\d-]+)\)/.exec(readme);
    return match ? `${match[1]} branch, commit ${match[2]}, ${match[3]}` : undefined;
  } catch {
    return undefined;
  }
}

/** Loads the registry folder and its version_history/ into one deduplicated list. */
export async function readOmnaRegistry(dir: string): Promise<OmnaRegistryData> {
  const latest = await loadDdfFolder(dir);
  const history = await loadDdfFolder(path.join(dir, 'version_history'));
  const skipped = [...latest.skipped, ...history.skipped].filter((s) => path.basename(s.file) !== 'version_history');

  const byKey = new Map<string, { def: ObjectDefinition; encoded: string }>();
  for (const def of [...latest.definitions, ...history.definitions]) {
    const key = `${def.id}@${def.version}`;
    const encoded = JSON.stringify(encodeObject(def));
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, { def, encoded });
    else if (seen.encoded !== encoded) {
      throw new Error(`object ${def.id} version ${def.version} is defined twice with different content`);
    }
  }
  const definitions = [...byKey.values()]
    .map((e) => e.def)
    .sort((a, b) => a.id - b.id || compareVersions(a.version, b.version));
  return { definitions, snapshot: await readSnapshot(dir), skipped };
}

/** One object as source text: header tuple on one line, one resource per line. */
function renderObject(fact: ObjectFact): string {
  const [id, version, lwm2mVersion, name, urn, code, resources] = fact;
  const head = [id, version, lwm2mVersion, name, urn, code].map((v) => JSON.stringify(v)).join(', ');
  const lines = resources.map((r) => `  [${r.map((v) => JSON.stringify(v)).join(',')}],`);
  return `[${head}, [\n${lines.join('\n')}\n]],`;
}

/** The full text of omna-facts.ts for these definitions. */
export function renderFacts(data: OmnaRegistryData): string {
  const resourceCount = data.definitions.reduce((n, d) => n + d.resources.size, 0);
  const snapshot = data.snapshot ? ` (${data.snapshot})` : '';
  const header = [
    '/**',
    ' * GENERATED FILE: do not edit. Regenerate with `npm run generate-registry`',
    ' * (scripts/generate-registry.ts).',
    ' *',
    ` * Source: the OMNA LwM2M object registry${snapshot},`,
    ' * its DDF files at the top level and in version_history/. The registry files',
    ' * are mostly BSD-3-Clause licensed (Open Mobile Alliance and others; a few',
    ' * Apache-2.0 or MIT). Only facts are kept: ids, names, versions, URNs,',
    ' * operations, types, multiplicity, mandatory flags, ranges and units.',
    ' * No descriptions.',
    ' *',
    ` * ${data.definitions.length} object versions, ${resourceCount} resources.`,
    ' * Tuple layout and codes: see src/model/facts.ts.',
    ' */',
    "import type { ObjectFact } from './facts.js';",
    '',
    'export const OMNA_OBJECTS: readonly ObjectFact[] = [',
  ];
  const body = data.definitions.map((def) => renderObject(encodeObject(def)));
  return [...header, ...body, '];', ''].join('\n');
}

async function main(argv: readonly string[]): Promise<void> {
  const dir = argv[0] ? path.resolve(argv[0]) : defaultRegistryDir();
  const started = Date.now();
  const data = await readOmnaRegistry(dir);
  const text = renderFacts(data);
  const out = factsFile();
  await writeFile(out, text);
  for (const s of data.skipped) console.log(`skipped ${path.relative(dir, s.file)}: ${s.reason}`);
  console.log(
    `wrote ${path.relative(process.cwd(), out)}: ${data.definitions.length} object versions, ` +
      `${Buffer.byteLength(text)} bytes, in ${Date.now() - started} ms`,
  );
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
