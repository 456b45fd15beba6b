import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Logger } from '../common/log.js';
import { WorkerSpawnRequest } from '../protocol/messages.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';
import { GENERAL } from '../core/requirement.js';

/** What a spawnable host may start, resolved once by the entry point. */
export interface SpawnOptions {
  /** Tags a spawned worker may carry (GENERAL is implied). */
  readonly tags: readonly string[];
  readonly slots: number;
  readonly min: number;
  readonly max: number;
  /** The `titan` command: [node, main.js]; `worker …` flags are appended. */
  readonly command: readonly string[];
  /** SIGTERM to SIGKILL when the host stops its workers (they drain first). */
  readonly stopGraceMs: number;
}

interface HostContext {
  readonly hostId: string;
  readonly masterHost: string;
  readonly masterPort: number;
  /** With several masters, all of them (`a:9090,b:9090`): spawned workers follow the leader too. */
  readonly masterList?: string;
  readonly token: string;
  readonly workDir: string;
  readonly log: Logger;
}

/**
 * The worker processes a spawnable host started for the autoscaler. Each is a real `titan worker`
 * with its own work dir, connected to this host by an IPC channel: it drains and exits when the
 * host goes away, so a host never leaves workers behind.
 */
export class SpawnHost {
  private readonly children = new Map<string, ChildProcess>();
  private closing = false;

  constructor(
    readonly options: SpawnOptions,
    private readonly ctx: HostContext,
  ) {}

  get count(): number {
    return this.children.size;
  }

  /** Starts the worker; throws a message naming the limit when the request cannot be met. */
  spawn(request: WorkerSpawnRequest): { pid: number } {
    if (this.closing) throw new Error(`host ${this.ctx.hostId} is shutting down`);
    if (this.children.has(request.workerId)) throw new Error(`worker ${request.workerId} is already running on host ${this.ctx.hostId}`);
    if (this.children.size >= this.options.max)
      throw new Error(`host ${this.ctx.hostId} already runs ${this.children.size} spawned worker(s), its --spawn-max`);
    const refused = request.tags.filter((t) => t !== GENERAL && !this.options.tags.includes(t));
    if (refused.length > 0)
      throw new Error(`host ${this.ctx.hostId} may not spawn workers tagged ${refused.join(',')} (its --spawn-tags: ${this.options.tags.join(',') || 'none'})`);
    const [file, ...prefix] = this.options.command;
    if (file === undefined) throw new Error('no worker command configured');
    const args = [
      ...prefix,
      'worker',
      '--master',
      this.ctx.masterList ?? `${this.ctx.masterHost}:${this.ctx.masterPort}`,
      '--id',
      request.workerId,
      '--slots',
      String(request.slots),
      '--work-dir',
      join(this.ctx.workDir, 'spawned', request.workerId),
      '--spawned-by',
      this.ctx.hostId,
      ...(request.tags.length > 0 ? ['--tags', request.tags.join(',')] : []),
    ];
    const child = spawn(file, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, TITAN_TOKEN: this.ctx.token } });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start a worker process (${file})`);
    this.children.set(request.workerId, child);
    child.once('exit', (code, signal) => {
      this.children.delete(request.workerId);
      this.ctx.log.info({ hostId: this.ctx.hostId, workerId: request.workerId, pid, code, signal }, 'spawned worker exited');
    });
    this.ctx.log.info({ hostId: this.ctx.hostId, workerId: request.workerId, pid, tags: request.tags }, 'spawned a worker');
    return { pid };
  }

  /** Asks every spawned worker to drain (SIGTERM), then SIGKILLs those still there after the grace. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      [...this.children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), this.options.stopGraceMs);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  }
}

/** A WORKER_SPAWN request from the master's autoscaler, answered by this worker's host (if it is one). */
export function answerSpawnRequest(host: SpawnHost | null, workerId: string, draining: boolean, msg: IncomingMessage, reply: Replier): void {
  const parsed = WorkerSpawnRequest.safeParse(msg.body);
  if (!parsed.success) return reply.error('E_INVALID_REQUEST', `malformed spawn request: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  if (host === null) return reply.error('E_INVALID_REQUEST', `worker ${workerId} does not spawn workers: start it with --spawnable`);
  if (draining) return reply.error('E_INVALID_REQUEST', `worker ${workerId} is draining`);
  try {
    reply.ok(host.spawn(parsed.data));
  } catch (err) {
    reply.error('E_INVALID_REQUEST', (err as Error).message);
  }
}
