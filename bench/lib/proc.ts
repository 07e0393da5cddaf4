/**
 * Parent side of the bench's child processes. Every system under test and
 * every load generator runs in its own forked process so that they never
 * share an event loop with each other or with the runner. Children talk
 * over the IPC channel with `{ type: ... }` messages (see child.ts).
 *
 * Each child has a hard lifetime: it is killed when that runs out, so a
 * hung server cannot stall the bench.
 */
import { fork, type ChildProcess } from 'node:child_process';

export interface ChildMessage {
  readonly type: string;
  readonly [key: string]: unknown;
}

export interface StartOptions {
  readonly args?: readonly string[];
  readonly execArgv?: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL) after this long, whatever it is doing. */
  readonly lifetimeMs: number;
  /** Called with each chunk the child writes to stdout. */
  readonly onStdout?: (text: string) => void;
}

interface Waiter {
  readonly type: string;
  readonly resolve: (msg: ChildMessage) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const STDERR_KEPT = 4096;

export class BenchChild {
  readonly name: string;
  private readonly child: ChildProcess;
  private readonly queue: ChildMessage[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly lifetime: NodeJS.Timeout;
  private stderr = '';
  private exitInfo: string | null = null;
  private readonly exited: Promise<void>;

  constructor(script: string, name: string, options: StartOptions) {
    this.name = name;
    this.child = fork(script, options.args ? [...options.args] : [], {
      execArgv: options.execArgv ? [...options.execArgv] : [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (text: string) => options.onStdout?.(text));
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-STDERR_KEPT);
    });
    this.child.on('message', (msg: ChildMessage) => this.deliver(msg));
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
        clearTimeout(this.lifetime);
        const err = new Error(`${this.name} ${this.exitInfo}${this.stderrTail()}`);
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(err);
        }
        resolve();
      });
    });
    this.child.on('error', (err) => {
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(err);
      }
    });
    this.lifetime = setTimeout(() => this.child.kill('SIGKILL'), options.lifetimeMs);
    this.lifetime.unref();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exitInfo === null;
  }

  private stderrTail(): string {
    const tail = this.stderr.trim().split('\n').slice(-3).join(' | ');
    return tail ? `: ${tail}` : '';
  }

  private deliver(msg: ChildMessage): void {
    if (msg.type === 'error') {
      const err = new Error(`${this.name}: ${String(msg.message)}`);
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(err);
      }
      this.queue.push(msg);
      return;
    }
    const i = this.waiters.findIndex((w) => w.type === msg.type);
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      clearTimeout(w!.timer);
      w!.resolve(msg);
    } else {
      this.queue.push(msg);
    }
  }

  /** Waits for the next message of that type (messages that came earlier count). */
  next<T extends ChildMessage = ChildMessage>(type: string, timeoutMs: number): Promise<T> {
    const queued = this.queue.findIndex((m) => m.type === type || m.type === 'error');
    if (queued >= 0) {
      const [msg] = this.queue.splice(queued, 1);
      if (msg!.type === 'error') return Promise.reject(new Error(`${this.name}: ${String(msg!.message)}`));
      return Promise.resolve(msg as T);
    }
    if (this.exitInfo !== null) return Promise.reject(new Error(`${this.name} ${this.exitInfo}${this.stderrTail()}`));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`${this.name}: no "${type}" message within ${timeoutMs} ms${this.stderrTail()}`));
      }, timeoutMs);
      const waiter: Waiter = { type, resolve: resolve as (m: ChildMessage) => void, reject, timer };
      this.waiters.push(waiter);
    });
  }

  send(msg: ChildMessage): void {
    if (this.exitInfo !== null || !this.child.connected) throw new Error(`${this.name} is not running (${this.exitInfo ?? 'disconnected'})`);
    this.child.send(msg);
  }

  /** Sends a message and waits for the reply of the given type. */
  async ask<T extends ChildMessage = ChildMessage>(msg: ChildMessage, replyType: string, timeoutMs: number): Promise<T> {
    const reply = this.next<T>(replyType, timeoutMs);
    this.send(msg);
    return reply;
  }

  /** Asks the child to stop, then kills it if it has not exited within graceMs. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.exitInfo !== null) return;
    try {
      if (this.child.connected) this.child.send({ type: 'stop' });
    } catch {
      // already going away
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Stops all the children, whatever happened (used in `finally`). */
export async function stopAll(children: Iterable<BenchChild | undefined>): Promise<void> {
  await Promise.all([...children].map((c) => c?.stop()));
}
