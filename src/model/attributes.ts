/**
 * Notification attributes (LwM2M Core TS §5.1.2) and their query-string
 * form, used by Write-Attributes (server side builds it, client side parses
 * it) and by Discover answers.
 *
 * A value of `null` means "clear this attribute": Write-Attributes sends the
 * key without a value (`?pmin`), which removes it at that level so the
 * inherited value applies again.
 */
import { CoapCode, Lwm2mError } from '../errors.js';

export interface NotificationAttributes {
  /** Minimum period between notifications, seconds. */
  pmin?: number | null;
  /** Maximum period between notifications, seconds. */
  pmax?: number | null;
  /** Greater-than threshold (numeric resources). */
  gt?: number | null;
  /** Less-than threshold (numeric resources). */
  lt?: number | null;
  /** Step: notify when the value moved by at least this much. */
  st?: number | null;
  /** Minimum evaluation period, seconds (1.1). */
  epmin?: number | null;
  /** Maximum evaluation period, seconds (1.1). */
  epmax?: number | null;
  /** Boolean resources: notify on the rising (1) or falling (0) edge only (1.2). */
  edge?: 0 | 1 | null;
  /** Notifications confirmable (1) or not (0) (1.2). */
  con?: 0 | 1 | null;
  /** Maximum historical queue size (1.2). */
  hqmax?: number | null;
}

export type AttributeName = keyof NotificationAttributes;

interface AttributeRule {
  /** Integer-valued attributes reject fractions. */
  readonly integer: boolean;
  readonly min?: number;
  readonly max?: number;
  /** LwM2M version that introduced it. */
  readonly since: '1.0' | '1.1' | '1.2';
}

const RULES: Readonly<Record<AttributeName, AttributeRule>> = {
  pmin: { integer: true, min: 0, since: '1.0' },
  pmax: { integer: true, min: 0, since: '1.0' },
  gt: { integer: false, since: '1.0' },
  lt: { integer: false, since: '1.0' },
  st: { integer: false, min: 0, since: '1.0' },
  epmin: { integer: true, min: 0, since: '1.1' },
  epmax: { integer: true, min: 0, since: '1.1' },
  edge: { integer: true, min: 0, max: 1, since: '1.2' },
  con: { integer: true, min: 0, max: 1, since: '1.2' },
  hqmax: { integer: true, min: 0, since: '1.2' },
};

export const ATTRIBUTE_NAMES: readonly AttributeName[] = Object.keys(RULES) as AttributeName[];

export function isAttributeName(name: string): name is AttributeName {
  return Object.prototype.hasOwnProperty.call(RULES, name);
}

/** The LwM2M version that introduced an attribute. */
export function attributeSince(name: AttributeName): '1.0' | '1.1' | '1.2' {
  return RULES[name].since;
}

function badAttribute(message: string): Lwm2mError {
  return new Lwm2mError(CoapCode.BadRequest, message);
}

/** Validates one attribute value; returns it as a number (or null to clear). */
export function checkAttributeValue(name: AttributeName, raw: unknown): number | null {
  if (raw === null) return null;
  const num = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof num !== 'number' || !Number.isFinite(num)) {
    throw badAttribute(`attribute ${name} must be a number, got ${JSON.stringify(raw)}`);
  }
  const rule = RULES[name];
  if (rule.integer && !Number.isInteger(num)) throw badAttribute(`attribute ${name} must be an integer, got ${num}`);
  if (rule.min !== undefined && num < rule.min) throw badAttribute(`attribute ${name} must be ≥ ${rule.min}, got ${num}`);
  if (rule.max !== undefined && num > rule.max) throw badAttribute(`attribute ${name} must be ≤ ${rule.max}, got ${num}`);
  return num;
}

/**
 * Checks the relations between attributes given together (Core TS §5.1.2):
 * pmax ≥ pmin, epmax > epmin, lt < gt, and lt + 2·st < gt when all three
 * are set. Violations are 4.00.
 */
export function checkAttributeConsistency(attrs: NotificationAttributes): void {
  const { pmin, pmax, epmin, epmax, gt, lt, st } = attrs;
  if (pmin != null && pmax != null && pmax < pmin) throw badAttribute(`pmax (${pmax}) must not be less than pmin (${pmin})`);
  if (epmin != null && epmax != null && epmax <= epmin) throw badAttribute(`epmax (${epmax}) must be greater than epmin (${epmin})`);
  if (gt != null && lt != null) {
    if (lt >= gt) throw badAttribute(`lt (${lt}) must be less than gt (${gt})`);
    if (st != null && lt + 2 * st >= gt) throw badAttribute(`lt + 2*st (${lt + 2 * st}) must be less than gt (${gt})`);
  }
}

/**
 * Builds the Uri-Query values of a Write-Attributes request
 * (["pmin=10", "pmax=60", "gt"]). `null` clears an attribute.
 */
export function formatAttributeQuery(attrs: NotificationAttributes): string[] {
  const out: string[] = [];
  for (const name of ATTRIBUTE_NAMES) {
    if (!(name in attrs) || attrs[name] === undefined) continue;
    const checked = checkAttributeValue(name, attrs[name]);
    out.push(checked === null ? name : `${name}=${formatNumber(checked)}`);
  }
  checkAttributeConsistency(attrs);
  return out;
}

/**
 * Parses Uri-Query values of a Write-Attributes request. Unknown attribute
 * names and bad values are 4.00, as the specification asks.
 */
export function parseAttributeQuery(queries: readonly string[]): NotificationAttributes {
  const attrs: NotificationAttributes = {};
  for (const query of queries) {
    const eq = query.indexOf('=');
    const name = eq < 0 ? query : query.slice(0, eq);
    if (!isAttributeName(name)) throw badAttribute(`unknown attribute "${name}"`);
    if (name in attrs) throw badAttribute(`attribute ${name} given twice`);
    const checked = eq < 0 ? null : checkAttributeValue(name, query.slice(eq + 1));
    (attrs as Record<string, number | null>)[name] = checked;
  }
  checkAttributeConsistency(attrs);
  return attrs;
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(n);
}
