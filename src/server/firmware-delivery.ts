/**
 * How the package gets to the device: push (Block1 write of /5/0/0) or pull
 * (a URI in /5/0/1), decided from what the caller asked for, what the device
 * says it takes (/5/0/9 Delivery Method, /5/0/8 Protocol Support) and what
 * the server can host. A pure decision: the job reads the resources.
 *
 *   method 'push'            push, whatever the device says (it may refuse the write)
 *   a package URI given      pull from it
 *   method 'pull'            pull over the protocol asked for, or CoAP, or HTTP
 *   method 'auto'            by /5/0/9: 1 push, 0 pull, 2 `prefer` (default push);
 *                            /5/0/9 unreadable: push (Package is mandatory in object 5)
 *
 * /5/0/8 is optional; when it cannot be read, CoAP is assumed, as its
 * definition says ("CoAP is the default setting").
 */
import { MAX_PACKAGE_URI_LENGTH } from './firmware-host.js';
import { DeliveryMethod, PullProtocol } from './firmware-results.js';
import { FirmwareJobError, type FirmwareJobOptions } from './firmware-types.js';

export type Delivery = { method: 'push' } | { method: 'pull'; protocol: 'coap' | 'http' | 'given' };

export interface DeliveryFacts {
  /** /5/0/9, undefined when not read or not readable. */
  readonly deliveryMethod: number | undefined;
  /** /5/0/8, undefined when not read or not readable. */
  readonly protocols: readonly number[] | undefined;
  /** Why the server cannot host over CoAP (no base URI known), or undefined when it can. */
  readonly coapProblem: string | undefined;
  /** True when an HTTP image host was given. */
  readonly httpHost: boolean;
}

/** Which resources the decision needs read for `options`. */
export function deliveryReads(options: Pick<FirmwareJobOptions, 'method' | 'packageUri'>): { deliveryMethod: boolean; protocols: boolean } {
  const method = options.method ?? (options.packageUri !== undefined ? 'pull' : 'auto');
  if (options.packageUri !== undefined || method === 'push') return { deliveryMethod: false, protocols: false };
  return { deliveryMethod: method === 'auto', protocols: true };
}

export function chooseDelivery(options: Pick<FirmwareJobOptions, 'method' | 'packageUri' | 'prefer' | 'pullProtocol'>, facts: DeliveryFacts): Delivery {
  const given = options.packageUri;
  const method = options.method ?? (given !== undefined ? 'pull' : 'auto');
  if (given !== undefined) {
    if (method === 'push') throw new FirmwareJobError('configuration', 'a package URI means pull delivery, not push');
    checkPackageUri(given);
    return { method: 'pull', protocol: 'given' };
  }
  if (method === 'push') return { method: 'push' };
  if (method === 'pull') {
    const protocol = pullProtocol(options.pullProtocol, facts, true);
    if (protocol === undefined) throw new FirmwareJobError('no-delivery-method', `no pull protocol: ${pullProblem(facts)}`);
    return { method: 'pull', protocol };
  }
  const dm = facts.deliveryMethod;
  const canPush = dm === undefined || dm === DeliveryMethod.push || dm === DeliveryMethod.both;
  const canPull = dm === DeliveryMethod.pull || dm === DeliveryMethod.both;
  const protocol = canPull ? pullProtocol(options.pullProtocol, facts, false) : undefined;
  if (canPush && (protocol === undefined || (options.prefer ?? 'push') === 'push')) return { method: 'push' };
  if (protocol !== undefined) return { method: 'pull', protocol };
  throw new FirmwareJobError('no-delivery-method', `the device takes pull only (/5/0/9 = 0), and ${pullProblem(facts)}`);
}

/** The pull protocol to use; with `strict`, a choice the device or the server cannot serve is an error. */
function pullProtocol(wanted: 'coap' | 'http' | undefined, facts: DeliveryFacts, strict: boolean): 'coap' | 'http' | undefined {
  const protocols = facts.protocols;
  const supports = (p: number): boolean => (protocols === undefined ? p === PullProtocol.coap : protocols.includes(p));
  if (wanted !== undefined && protocols !== undefined && !supports(wanted === 'coap' ? PullProtocol.coap : PullProtocol.http)) {
    if (strict) throw new FirmwareJobError('unsupported-protocol-choice', `the device does not list ${wanted} in /5/0/8 (it lists ${protocols.join(', ') || 'nothing'})`);
    return undefined;
  }
  const order: Array<'coap' | 'http'> = wanted !== undefined ? [wanted] : ['coap', 'http'];
  for (const p of order) {
    if (p === 'coap' && supports(PullProtocol.coap) && facts.coapProblem === undefined) return 'coap';
    if (p === 'http' && supports(PullProtocol.http) && facts.httpHost) return 'http';
  }
  if (strict && wanted === 'coap' && facts.coapProblem !== undefined) throw new FirmwareJobError('configuration', facts.coapProblem);
  if (strict && wanted === 'http' && !facts.httpHost) throw new FirmwareJobError('configuration', 'no HTTP image host was given to the updater');
  return undefined;
}

function pullProblem(facts: DeliveryFacts): string {
  const p = facts.protocols;
  const listed = p === undefined ? 'CoAP (assumed)' : p.length === 0 ? 'nothing' : p.join(', ');
  const hosts = [facts.coapProblem === undefined ? 'CoAP' : '', facts.httpHost ? 'HTTP' : ''].filter((h) => h !== '').join(' and ') || 'nothing';
  return `the device lists ${listed} in /5/0/8 while the server can host over ${hosts}`;
}

/** A package URI given by the caller must be a URI /5/0/1 can hold. */
function checkPackageUri(uri: string): void {
  try {
    new URL(uri);
  } catch {
    throw new FirmwareJobError('configuration', `"${uri}" is not a URI`);
  }
  if (Buffer.byteLength(uri) > MAX_PACKAGE_URI_LENGTH) throw new FirmwareJobError('configuration', `the package URI is longer than ${MAX_PACKAGE_URI_LENGTH} bytes`);
}
