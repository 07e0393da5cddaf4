/**
 * CoRE Link Format (RFC 6690, content format 40): the body of Register and
 * Update (which objects and instances a client has) and the answer to
 * Discover (which resources exist, with their attributes).
 *
 *   </>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>
 *   </3/0>;pmin=10;pmax=60,</3/0/1>,</3/0/7>;dim=8,</3/0/9>;gt=50
 *
 * Not a value codec: it works on links, and the LwM2M helpers below turn a
 * link into a path and read its attributes.
 */
import { FormatError } from '../errors.js';
import { isValidId, ROOT_PATH, type Lwm2mPath } from '../model/path.js';
import { decodeUtf8, truncate } from './scalar.js';

/** One link: its target and its parameters (a parameter without value is `true`). */
export interface Link {
  readonly uri: string;
  readonly params: Map<string, string | true>;
}

// ------------------------------------------------------------ parsing

/** RFC 8288 parmname characters, plus "*" for extended parameters such as title*. */
const PARAM_NAME_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~*]/;
/** RFC 6690 ptokenchar: what an unquoted value may contain. */
const PTOKEN_CHAR = /[!#$%&'()*+\-./0-9:<=>?@A-Z[\]^_`a-z{|}~]/;

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

class LinkParser {
  private pos = 0;

  constructor(private readonly text: string) {}

  private fail(message: string): never {
    throw new FormatError(`link-format: ${message} at character ${this.pos} ("${truncate(this.text.slice(this.pos), 20)}")`);
  }

  private skipSpace(): void {
    while (isSpace(this.text[this.pos])) this.pos++;
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  parse(): Link[] {
    const links: Link[] = [];
    this.skipSpace();
    while (this.pos < this.text.length) {
      links.push(this.link());
      this.skipSpace();
      if (this.pos >= this.text.length) break;
      if (this.peek() !== ',') this.fail('expected "," between links');
      this.pos++;
      this.skipSpace(); // a trailing comma before the end is tolerated
    }
    return links;
  }

  private link(): Link {
    if (this.peek() !== '<') this.fail('expected "<" to open a link');
    const close = this.text.indexOf('>', this.pos + 1);
    if (close < 0) this.fail('unterminated "<"');
    const uri = this.text.slice(this.pos + 1, close);
    if (/[\s<"]/.test(uri)) this.fail('invalid character in link target');
    this.pos = close + 1;
    const params = new Map<string, string | true>();
    for (;;) {
      this.skipSpace();
      if (this.peek() !== ';') break;
      this.pos++;
      this.skipSpace();
      const [name, value] = this.param();
      // RFC 8288 section 3: only the first occurrence of a parameter counts
      if (!params.has(name)) params.set(name, value);
    }
    return { uri, params };
  }

  private param(): [string, string | true] {
    const start = this.pos;
    while (this.pos < this.text.length && PARAM_NAME_CHAR.test(this.text[this.pos] as string)) this.pos++;
    if (this.pos === start) this.fail('expected a parameter name');
    // parameter names are case-insensitive (RFC 8288 section 3)
    const name = this.text.slice(start, this.pos).toLowerCase();
    this.skipSpace();
    if (this.peek() !== '=') return [name, true];
    this.pos++;
    this.skipSpace();
    return [name, this.peek() === '"' ? this.quoted() : this.token()];
  }

  private quoted(): string {
    this.pos++; // opening quote
    let out = '';
    for (;;) {
      const c = this.text[this.pos++];
      if (c === undefined) this.fail('unterminated quoted string');
      if (c === '"') return out;
      if (c === '\\') {
        const next = this.text[this.pos++];
        if (next === undefined) this.fail('unterminated quoted string');
        out += next;
      } else {
        out += c;
      }
    }
  }

  private token(): string {
    const start = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text[this.pos] as string;
      if (c === ',' || c === ';' || isSpace(c)) break;
      if (!PTOKEN_CHAR.test(c)) this.fail(`invalid character "${c}" in parameter value`);
      this.pos++;
    }
    if (this.pos === start) this.fail('expected a parameter value after "="');
    return this.text.slice(start, this.pos);
  }
}

/** Parses a link-format document (text or UTF-8 bytes). Throws FormatError on malformed input. */
export function parseLinkFormat(input: string | Buffer): Link[] {
  const text = typeof input === 'string' ? input : decodeUtf8(input, 'link-format');
  return new LinkParser(text).parse();
}

// ------------------------------------------------------------ formatting

/**
 * Parameters whose RFC 6690 grammar is a quoted string or relation types:
 * quoted even when a bare token would do, as the LwM2M examples write
 * `rt="oma.lwm2m"`, because some parsers only accept that form.
 */
const ALWAYS_QUOTED = new Set(['rt', 'if', 'rel', 'rev', 'title', 'anchor']);
const PTOKEN_RE = /^[!#$%&'()*+\-./0-9:<=>?@A-Z[\]^_`a-z{|}~]+$/;

function formatValue(name: string, value: string): string {
  if (!ALWAYS_QUOTED.has(name) && PTOKEN_RE.test(value)) return value;
  return '"' + value.replace(/["\\]/g, (c) => '\\' + c) + '"';
}

/** Formats links as link-format text (no whitespace, as clients send it). */
export function formatLinkFormat(links: readonly Link[]): string {
  return links
    .map((link) => {
      if (/[>\s]/.test(link.uri)) throw new FormatError(`link-format: invalid link target "${link.uri}"`);
      let out = `<${link.uri}>`;
      for (const [name, value] of link.params) {
        if (!/^[A-Za-z0-9!#$&+\-.^_`|~*]+$/.test(name)) throw new FormatError(`link-format: invalid parameter name "${name}"`);
        out += value === true ? `;${name}` : `;${name}=${formatValue(name, value)}`;
      }
      return out;
    })
    .join(',');
}

/** Builds a link from a target and plain parameters (numbers are written in decimal). */
export function makeLink(uri: string, params: Record<string, string | number | true> = {}): Link {
  const map = new Map<string, string | true>();
  for (const [k, v] of Object.entries(params)) map.set(k, typeof v === 'number' ? String(v) : v);
  return { uri, params: map };
}

// ------------------------------------------------------------ LwM2M helpers

/** Normalises a root path: "/lwm2m/" → "/lwm2m", "" → "/". */
function normalizeRoot(root: string): string {
  let r = root.trim();
  if (!r.startsWith('/')) r = '/' + r;
  while (r.length > 1 && r.endsWith('/')) r = r.slice(0, -1);
  return r;
}

/**
 * The alternate root path a registration announces with rt="oma.lwm2m"
 * (`</lwm2m>;rt="oma.lwm2m"` → "/lwm2m"); "/" when it announces none.
 */
export function findRootPath(links: readonly Link[]): string {
  for (const link of links) {
    if (linkResourceTypes(link)?.includes('oma.lwm2m')) return normalizeRoot(link.uri);
  }
  return '/';
}

/**
 * The LwM2M path a link targets, below `rootPath` ("/" by default):
 * `</3/0>` → [3, 0]; with root "/lwm2m", `</lwm2m/3/0>` → [3, 0]. The root
 * itself gives [] (the root path). Undefined when the target is not an
 * LwM2M path under that root.
 */
export function linkPath(link: Link | string, rootPath = '/'): Lwm2mPath | undefined {
  const uri = typeof link === 'string' ? link : link.uri;
  const root = normalizeRoot(rootPath);
  let rest: string;
  if (root === '/') {
    if (!uri.startsWith('/')) return undefined;
    rest = uri.slice(1);
  } else {
    if (uri !== root && !uri.startsWith(root + '/')) return undefined;
    rest = uri.slice(root.length + 1);
  }
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (rest === '') return ROOT_PATH;
  const segments = rest.split('/');
  if (segments.length > 4) return undefined;
  const ids: number[] = [];
  for (const s of segments) {
    if (!/^\d{1,5}$/.test(s)) return undefined;
    const id = Number(s);
    if (!isValidId(id)) return undefined;
    ids.push(id);
  }
  return Object.freeze(ids);
}

/** A parameter that must carry a value (a bare `;pmin` is malformed). */
function valueOf(link: Link, name: string): string | undefined {
  const v = link.params.get(name);
  if (v === true) throw new FormatError(`link-format: <${link.uri}> parameter ${name} has no value`);
  return v;
}

const DECIMAL_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A numeric parameter (gt=50.5, st=-1e3). Undefined when absent; FormatError when not a number. */
export function linkNumberParam(link: Link, name: string): number | undefined {
  const v = valueOf(link, name);
  if (v === undefined) return undefined;
  if (!DECIMAL_RE.test(v)) throw new FormatError(`link-format: <${link.uri}> ${name}="${truncate(v)}" is not a number`);
  return Number(v);
}

/** A non-negative integer parameter (pmin=10, dim=8). */
export function linkIntegerParam(link: Link, name: string): number | undefined {
  const v = valueOf(link, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v)) {
    throw new FormatError(`link-format: <${link.uri}> ${name}="${truncate(v)}" is not a non-negative integer`);
  }
  return Number(v);
}

/** Object version (`</1>;ver=1.1` → "1.1"). */
export function linkVersion(link: Link): string | undefined {
  const v = valueOf(link, 'ver');
  if (v === undefined) return undefined;
  if (!/^\d+\.\d+$/.test(v)) throw new FormatError(`link-format: <${link.uri}> ver="${truncate(v)}" is not a version`);
  return v;
}

/** Content formats (`ct=11543` or `ct="60 110 112"`) as numbers. */
export function linkContentFormats(link: Link): number[] | undefined {
  const v = valueOf(link, 'ct');
  if (v === undefined) return undefined;
  const parts = v.trim().split(/\s+/);
  return parts.map((p) => {
    if (!/^\d{1,5}$/.test(p) || Number(p) > 0xffff) {
      throw new FormatError(`link-format: <${link.uri}> ct="${truncate(v)}" is not a list of content formats`);
    }
    return Number(p);
  });
}

/** Resource types (`rt="oma.lwm2m"`, space-separated when several). */
export function linkResourceTypes(link: Link): string[] | undefined {
  const v = valueOf(link, 'rt');
  if (v === undefined) return undefined;
  return v.trim().split(/\s+/).filter((s) => s !== '');
}

/** The attributes LwM2M puts on links (Register/Update bodies and Discover answers). */
export interface LinkAttributes {
  ver?: string;
  ct?: number[];
  rt?: string[];
  /** Number of instances of a multiple resource (Discover). */
  dim?: number;
  pmin?: number;
  pmax?: number;
  gt?: number;
  lt?: number;
  st?: number;
  epmin?: number;
  epmax?: number;
  /** 0 or 1 (LwM2M 1.2). */
  edge?: number;
  /** 0 or 1 (LwM2M 1.2). */
  con?: number;
  hqmax?: number;
}

const INTEGER_ATTRIBUTES = ['dim', 'pmin', 'pmax', 'epmin', 'epmax', 'edge', 'con', 'hqmax'] as const;
const NUMBER_ATTRIBUTES = ['gt', 'lt', 'st'] as const;

/** Reads every LwM2M attribute present on a link. Throws FormatError for a malformed one. */
export function linkAttributes(link: Link): LinkAttributes {
  const out: LinkAttributes = {};
  const ver = linkVersion(link);
  if (ver !== undefined) out.ver = ver;
  const ct = linkContentFormats(link);
  if (ct !== undefined) out.ct = ct;
  const rt = linkResourceTypes(link);
  if (rt !== undefined) out.rt = rt;
  for (const name of INTEGER_ATTRIBUTES) {
    const v = linkIntegerParam(link, name);
    if (v !== undefined) out[name] = v;
  }
  for (const name of NUMBER_ATTRIBUTES) {
    const v = linkNumberParam(link, name);
    if (v !== undefined) out[name] = v;
  }
  for (const name of ['edge', 'con'] as const) {
    const v = out[name];
    if (v !== undefined && v !== 0 && v !== 1) throw new FormatError(`link-format: <${link.uri}> ${name}=${v} is not 0 or 1`);
  }
  return out;
}
