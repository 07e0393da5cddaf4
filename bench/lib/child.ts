/**
 * Child side of the bench's processes: parameters arrive as JSON in argv[2],
 * messages go back over the IPC channel. A child exits when the parent asks
 * ('stop') or goes away (the IPC channel closes), so no process outlives
 * the bench.
 */
import type { ChildMessage } from './proc.js';

export function send(msg: ChildMessage): void {
  if (process.send) process.send(msg);
}

/** The JSON parameters the parent put in argv[2]. */
export function params<T>(): T {
  const text = process.argv[2];
  if (text === undefined) throw new Error('missing JSON parameters in argv[2]');
  return JSON.parse(text) as T;
}

type Handler = (msg: ChildMessage) => void | Promise<void>;

/**
 * Installs the message loop: each handler runs for messages of its type;
 * 'stop' and a closed channel end the process (after `onStop`, if given).
 * A handler that throws is reported to the parent as an 'error' message.
 */
export function serve(handlers: Record<string, Handler>, onStop?: () => void | Promise<void>): void {
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    try {
      await onStop?.();
    } finally {
      process.exit(0);
    }
  };
  process.on('disconnect', () => void stop());
  process.on('message', (msg: ChildMessage) => {
    if (msg.type === 'stop') {
      void stop();
      return;
    }
    const handler = handlers[msg.type];
    if (!handler) {
      send({ type: 'error', message: `unknown message type "${msg.type}"` });
      return;
    }
    Promise.resolve()
      .then(() => handler(msg))
      .catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
  });
}

/** Reports a start-up failure to the parent and exits. */
export function fail(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  if (process.send && process.connected) process.send({ type: 'error', message }, () => process.exit(1));
  else process.exit(1);
  // Exit even if the channel never flushes.
  setTimeout(() => process.exit(1), 1000).unref();
}

/** Memory and CPU of this process (after a forced GC when --expose-gc is on). */
export function processFigures(collect: boolean): ChildMessage & { rss: number; heapUsed: number; cpuUs: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (collect && gc) {
    gc();
    gc();
  }
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  return { type: 'figures', rss: mem.rss, heapUsed: mem.heapUsed, cpuUs: cpu.user + cpu.system, gc: Boolean(collect && gc) };
}
