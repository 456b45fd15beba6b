/**
 * A real Titan cluster for the bench: master and workers are `titan` child processes on loopback,
 * in a temp dir, with a fixed token (as test/harness.ts does). close() kills only what it started,
 * by PID, reaps job processes from the workers' pid registries and removes the dir.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TitanClient } from '../src/sdk/client.js';
import { PidRegistry } from '../src/worker/pid-registry.js';
import { Deadline, now, sleep, within } from './measure.js';
import { removeDir, spawnTracked, stop, tempDir, type Tracked } from './procs.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
export const BENCH_TOKEN = 'bench-token-0123456789';
const LISTENING = /listening on 127\.0\.0\.1:(\d+)/;

export interface RestartTiming {
  /** Spawn → a fresh client connected and got an answer to stats(). */
  readonly readyS: number;
  /** Spawn → the master printed that it listens (store loaded, state rebuilt). */
  readonly listeningS: number;
}

/** utime + stime of one process from /proc/<pid>/stat, in seconds (USER_HZ is 100 on Linux). */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name, which may itself hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export class BenchCluster {
  readonly dir = tempDir('titan-bench-');
  readonly dataDir = join(this.dir, 'master');
  port = 0;
  /** The master's HTTP port when started with `{ http: true }`. */
  httpPort = 0;
  private master: Tracked | null = null;
  private readonly workers = new Map<string, { tracked: Tracked; workDir: string }>();
  private readonly clients: TitanClient[] = [];

  get masterPid(): number {
    const pid = this.master?.child.pid;
    if (pid === undefined) throw new Error('the master is not running');
    return pid;
  }

  /** Calls `listener` with each line the running master logs (its log goes to stderr). */
  onMasterLog(listener: (line: string) => void): void {
    let partial = '';
    this.master?.child.stderr?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) listener(line);
    });
  }

  /** Resident memory of the master process in MB, from /proc/<pid>/status (VmRSS). */
  masterRssMb(): number {
    const status = readFileSync(`/proc/${this.masterPid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (kb === null) throw new Error(`no VmRSS in /proc/${this.masterPid}/status`);
    return Number(kb[1]) / 1024;
  }

  /** CPU seconds (user + system) the master and the workers have used so far, not counting job processes. */
  cpuSeconds(): { master: number; workers: number } {
    let workers = 0;
    for (const { tracked } of this.workers.values()) if (tracked.child.pid !== undefined) workers += processCpuSeconds(tracked.child.pid);
    return { master: processCpuSeconds(this.masterPid), workers };
  }

  async startMaster(options: { http?: boolean; args?: readonly string[] } = {}): Promise<void> {
    const master = this.spawnMaster(0, options.http === true, options.args);
    const match = await master.line(LISTENING, 20_000);
    this.port = Number(match[1]);
    if (options.http === true) this.httpPort = Number((await master.line(/http api and dashboard on http:\/\/127\.0\.0\.1:(\d+)/, 20_000))[1]);
  }

  /** Starts a worker and waits until the master lists it healthy; `extra` adds flags and environment. */
  async startWorker(id: string, slots: number, extra: { args?: readonly string[]; env?: Readonly<Record<string, string>> } = {}): Promise<number> {
    const workDir = join(this.dir, 'workers', id);
    const args = [
      'worker',
      '--master',
      `127.0.0.1:${this.port}`,
      '--token',
      BENCH_TOKEN,
      '--id',
      id,
      '--work-dir',
      workDir,
      '--slots',
      String(slots),
      ...(extra.args ?? []),
    ];
    const tracked = this.spawnTitan(args, extra.env);
    this.workers.set(id, { tracked, workDir });
    const client = await this.client();
    const deadline = new Deadline(`worker ${id} to register`, 20_000);
    for (;;) {
      if (tracked.child.exitCode !== null) throw new Error(`worker ${id} exited:\n${tracked.tail()}`);
      if ((await client.stats()).workers.some((w) => w.id === id && w.health === 'healthy')) return tracked.child.pid ?? 0;
      deadline.check();
      await sleep(50);
    }
  }

  /** SIGKILLs every worker, reaps their job processes, and waits until the master has let them go. */
  async killWorkers(): Promise<void> {
    for (const [id, { tracked, workDir }] of this.workers) {
      await stop(tracked.child, 'SIGKILL');
      await PidRegistry.killOrphans(join(workDir, 'pids.json'));
      this.workers.delete(id);
    }
    const client = await this.client();
    const deadline = new Deadline('the master to drop the killed workers', 20_000);
    while ((await client.stats()).workers.some((w) => w.health !== 'dead')) {
      deadline.check();
      await sleep(50);
    }
  }

  async killMaster(): Promise<void> {
    const master = this.master;
    this.master = null;
    for (const client of this.clients.splice(0)) client.close();
    if (master !== null) await stop(master.child, 'SIGKILL');
  }

  /** Starts the master again on the same data dir and port, and times how soon it serves a client. */
  async restartMasterTimed(limitMs: number): Promise<RestartTiming> {
    const t0 = now();
    const master = this.spawnMaster(this.port);
    let listeningS = Number.NaN;
    const listening = master.line(LISTENING, limitMs).then(
      () => (listeningS = (now() - t0) / 1000),
      () => undefined,
    );
    const deadline = new Deadline('the restarted master to answer stats()', limitMs);
    for (;;) {
      if (master.child.exitCode !== null) throw new Error(`the restarted master exited:\n${master.tail()}`);
      const client = await TitanClient.connect({ host: '127.0.0.1', port: this.port, token: BENCH_TOKEN }).catch(() => null);
      if (client !== null) {
        const answered = await within('stats()', 5_000, client.stats()).then(
          () => true,
          () => false,
        );
        client.close();
        if (answered) break;
      }
      deadline.check();
      await sleep(2);
    }
    const readyS = (now() - t0) / 1000;
    await within('the restarted master to print its address', 5_000, listening);
    return { readyS, listeningS };
  }

  async client(): Promise<TitanClient> {
    const client = await TitanClient.connect({ host: '127.0.0.1', port: this.port, token: BENCH_TOKEN });
    this.clients.push(client);
    return client;
  }

  async close(): Promise<void> {
    for (const client of this.clients.splice(0)) client.close();
    for (const { tracked, workDir } of this.workers.values()) {
      await stop(tracked.child, 'SIGKILL');
      await PidRegistry.killOrphans(join(workDir, 'pids.json'));
    }
    this.workers.clear();
    if (this.master !== null) await stop(this.master.child, 'SIGKILL');
    this.master = null;
    removeDir(this.dir);
  }

  private spawnMaster(port = 0, http = false, extra: readonly string[] = []): Tracked {
    const args = [
      'master',
      '--listen',
      `127.0.0.1:${port}`,
      '--data-dir',
      this.dataDir,
      '--token',
      BENCH_TOKEN,
      ...(http ? ['--http', '127.0.0.1:0'] : ['--no-http']),
      ...extra,
    ];
    this.master = this.spawnTitan(args);
    return this.master;
  }

  private spawnTitan(args: readonly string[], env: Readonly<Record<string, string>> = {}): Tracked {
    return spawnTracked(process.execPath, [MAIN, ...args], {
      // The default (info) log level: it logs nothing per job, so this is what a user runs.
      env: { ...process.env, TITAN_HOME: this.dir, ...env },
    });
  }
}
