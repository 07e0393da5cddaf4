/**
 * Messages of `lwm2m-bootstrap` for the Bootstrap-Server's sessions:
 * started, finished (what was written) and failed (which step, why, the
 * CoAP code). `msg.topic` is `<endpoint>/bootstrap/<event>`.
 */
import type { BootstrapFailed, BootstrapFinished, BootstrapSessionInfo } from '../../src/bootstrap/bootstrap-server.js';
import { CoapCode } from '../../src/errors.js';
import { formatPath } from '../../src/model/path.js';
import type { NodeMessage } from '../node-red-types.js';
import { formatFields, topicOf } from './messages.js';
import { formatHostPort } from './server-runtime.js';

export const SESSION_EVENTS = ['started', 'finished', 'failed'] as const;
export type SessionEvent = (typeof SESSION_EVENTS)[number];

/** Events a node emits: each is on unless its check box was cleared. */
export function enabledSessionEvents(def: Readonly<Record<string, unknown>>): Set<SessionEvent> {
  return new Set(SESSION_EVENTS.filter((name) => def[name] !== false && def[name] !== 'false'));
}

function base(info: BootstrapSessionInfo, event: SessionEvent): Pick<NodeMessage, 'topic'> & { endpoint: string } {
  return { topic: topicOf(info.endpoint, `bootstrap/${event}`), endpoint: info.endpoint };
}

function address(info: BootstrapSessionInfo): string {
  return formatHostPort(info.peer.host, info.peer.port);
}

export function sessionStartedMessage(info: BootstrapSessionInfo): NodeMessage {
  return {
    ...base(info, 'started'),
    payload: { mode: info.mode, address: address(info) },
    lwm2m: { endpoint: info.endpoint, event: 'started', mode: info.mode, timestamp: info.startedAt },
  };
}

export function sessionFinishedMessage(result: BootstrapFinished): NodeMessage {
  return {
    ...base(result, 'finished'),
    payload: {
      mode: result.mode,
      address: address(result),
      written: [...result.written],
      durationMs: result.durationMs,
      ...(result.discovered ? { discovered: result.discovered.map((l) => ({ path: l.path ? formatPath(l.path) : l.uri, attributes: l.attributes })) } : {}),
      ...(result.read ? { read: result.read } : {}),
    },
    lwm2m: {
      endpoint: result.endpoint,
      event: 'finished',
      mode: result.mode,
      code: result.mode === 'pack' ? CoapCode.Content : CoapCode.Changed,
      ...formatFields(result.format),
      timestamp: Date.now(),
    },
  };
}

export function sessionFailedMessage(result: BootstrapFailed): NodeMessage {
  return {
    ...base(result, 'failed'),
    payload: { mode: result.mode, address: address(result), step: result.step, reason: result.reason, code: result.code },
    lwm2m: { endpoint: result.endpoint, event: 'failed', mode: result.mode, step: result.step, code: result.code, timestamp: Date.now() },
  };
}
