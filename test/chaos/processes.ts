/**
 * The chaos run's cluster: one master and a few workers as real `titan` processes, each restartable
 * on the same dirs (the master on the same port), one worker optionally in its own network namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { awaitLine, killAndWait, MAIN, TOKEN } from '../harness.js';
import type { NetNs } from '../netns.js';

export const HEARTBEAT_TIMEOUT_MS = 4_000;

export class ChaosProcesses {
  master: ChildProcess | null = null;
  port = 0;
  httpPort = 0;
  readonly workers = new Map<string, ChildProcess | null>();
  private readonly all = new Set<ChildProcess>();

  constructor(
    readonly dir: string,
    readonly workerIds: readonly string[],
    /** The worker that runs inside the namespace, when there is one. */
    readonly islander: { readonly id: string; readonly netns: NetNs } | null,
  ) {}

  get masterHost(): string {
    return this.islander?.netns.hostAddress ?? '127.0.0.1';
  }

  async startMaster(): Promise<void> {
    const args = [
      'master',
      '--listen',
      `${this.masterHost}:${this.port}`,
      '--data-dir',
      join(this.dir, 'master'),
      '--token',
      TOKEN,
      '--heartbeat-interval',
      '300',
      '--heartbeat-timeout',
      String(HEARTBEAT_TIMEOUT_MS),
      '--http',
      `127.0.0.1:${this.httpPort}`,
      '--rate-limit',
      'off',
    ];
    if (this.islander !== null) args.push('--insecure');
    const child = this.spawn([], args);
    this.master = child;
    const match = await awaitLine(child, /listening on [\d.]+:(\d+)[^\n]*\nhttp api and dashboard on https?:\/\/127\.0\.0\.1:(\d+)/, 60_000, 'master');
    this.port = Number(match[1]);
    this.httpPort = Number(match[2]);
  }

  startWorker(id: string): void {
    const prefix = this.islander?.id === id ? this.islander.netns.exec : [];
    this.workers.set(
      id,
      this.spawn(prefix, [
        'worker',
        '--master',
        `${this.masterHost}:${this.port}`,
        '--token',
        TOKEN,
        '--id',
        id,
        '--work-dir',
        join(this.dir, 'workers', id),
        '--slots',
        '4',
      ]),
    );
  }

  async killMaster(): Promise<void> {
    const master = this.master;
    this.master = null;
    if (master !== null) await killAndWait(master, 'SIGKILL');
  }

  async killWorker(id: string): Promise<void> {
    const worker = this.workers.get(id);
    this.workers.set(id, null);
    if (worker !== null && worker !== undefined) await killAndWait(worker, 'SIGKILL');
  }

  signal(child: ChildProcess | null | undefined, signal: NodeJS.Signals): void {
    if (child !== null && child !== undefined && child.exitCode === null && child.signalCode === null) child.kill(signal);
  }

  /** Everything running and awake again: what the end of the run checks against. */
  async restoreAll(): Promise<void> {
    for (const child of this.all) this.signal(child, 'SIGCONT');
    if (this.master === null || this.master.exitCode !== null || this.master.signalCode !== null) await this.startMaster();
    for (const id of this.workerIds) {
      const worker = this.workers.get(id);
      if (worker === null || worker === undefined || worker.exitCode !== null || worker.signalCode !== null) this.startWorker(id);
    }
  }

  pids(): number[] {
    return [...this.all].flatMap((c) => (c.pid !== undefined && c.exitCode === null && c.signalCode === null ? [c.pid] : []));
  }

  async closeAll(): Promise<void> {
    for (const child of this.all) this.signal(child, 'SIGCONT');
    await Promise.all([...this.all].map((c) => killAndWait(c, 'SIGKILL')));
  }

  private spawn(prefix: readonly string[], args: readonly string[]): ChildProcess {
    const [file, ...rest] = [...prefix, process.execPath, MAIN, ...args];
    const child = spawn(file ?? process.execPath, rest, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TITAN_HOME: this.dir, TITAN_LOG_LEVEL: 'warn' },
    });
    child.stdout?.resume();
    child.stderr?.on('data', (c: Buffer) => {
      if (process.env.TITAN_CHAOS_VERBOSE) process.stderr.write(c);
    });
    this.all.add(child);
    child.once('exit', () => this.all.delete(child));
    return child;
  }
}
