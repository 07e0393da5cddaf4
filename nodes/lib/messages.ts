/**
 * The message conventions shared by every node of the package:
 * `msg.topic = <endpoint><path>`, failures as Errors whose CoAP code goes to
 * `msg.lwm2m.code`, and short status texts.
 */
import { CoapCode, Lwm2mError } from '../../src/errors.js';
import { contentFormatName } from '../../src/formats/content-format.js';
import type { NodeStatus } from '../node-red-types.js';
import type { RuntimeState } from './server-runtime.js';
import { formatHostPort } from './server-runtime.js';

/** `dev1/3/0/9`, `dev1/registered`, `dev1/composite`. */
export function topicOf(endpoint: string, pathOrEvent: string | readonly string[]): string {
  if (Array.isArray(pathOrEvent)) return pathOrEvent.length === 1 ? topicOf(endpoint, pathOrEvent[0] as string) : `${endpoint}/composite`;
  const tail = pathOrEvent as string;
  return tail.startsWith('/') ? `${endpoint}${tail}` : `${endpoint}/${tail}`;
}

/** `{ format: 'senml-cbor', contentFormat: 112 }` for msg.lwm2m. */
export function formatFields(format: number | undefined): { format?: string; contentFormat?: number } {
  return format === undefined ? {} : { format: contentFormatName(format), contentFormat: format };
}

/** A failure as it reaches a flow: the Error for done(err), and its CoAP code for msg.lwm2m.code. */
export interface FlowFailure {
  readonly error: Error;
  readonly code: string;
  /** Bad input or a device's refusal (no stack trace wanted), rather than a bug. */
  readonly expected: boolean;
}

/**
 * Engine errors (Lwm2mError: bad path, unknown endpoint, the device said
 * 4.04, no answer) are the flow's business: they go out as a plain Error
 * without a stack trace, so logs and Catch nodes show one clear line.
 * Anything else is a bug and keeps its stack.
 */
export function toFlowFailure(err: unknown): FlowFailure {
  if (err instanceof Lwm2mError) {
    const error = new Error(err.message);
    error.name = 'Lwm2mError';
    error.stack = `${error.name}: ${error.message}`;
    Object.assign(error, { code: err.code });
    return { error, code: err.code, expected: true };
  }
  const error = err instanceof Error ? err : new Error(String(err));
  return { error, code: CoapCode.InternalServerError, expected: false };
}

const STATUS_LENGTH = 60;

export function shorten(text: string, max = STATUS_LENGTH): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Red ring with the code and the start of the message. A device's refusal
 * ("Read /3/0 on dev failed: 4.04 Not Found") reads "4.04 Not Found: Read
 * /3/0 on dev", so the code is not shown twice and the reason comes first.
 */
export function failureStatus(failure: FlowFailure): NodeStatus {
  const { code } = failure;
  const refused = / failed: (\d\.\d\d) /.exec(failure.error.message);
  const text =
    refused && refused[1] === code
      ? `${code} ${failure.error.message.slice(refused.index + refused[0].length)}: ${failure.error.message.slice(0, refused.index)}`
      : `${code} ${failure.error.message}`;
  return { fill: 'red', shape: 'ring', text: shorten(text) };
}

/** How a flow node shows its server's state. */
export function serverStatus(state: RuntimeState): NodeStatus {
  switch (state.status) {
    case 'starting':
      return { fill: 'yellow', shape: 'ring', text: 'starting' };
    case 'listening':
      return { fill: 'green', shape: 'dot', text: `listening ${formatHostPort(state.address, state.port)}` };
    case 'failed':
      return { fill: 'red', shape: 'ring', text: shorten(state.message) };
    case 'stopped':
      return { fill: 'grey', shape: 'ring', text: 'stopped' };
  }
}

export const NO_SERVER_STATUS: NodeStatus = { fill: 'red', shape: 'ring', text: 'no LwM2M server configured' };
