/**
 * PostgreSQL-backed masters for the bench (docs/HA.md): `titan master --store postgres://…` processes
 * on one schema of their own, sharing the token and keys, and workers given every master. Processes
 * go through procs.ts (tracked by PID, killed on any exit path); close() kills them, reaps the
 * workers' job processes, drops the schema and removes the temp dir.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { TitanClient } from '../src/sdk/client.js';
import { connectTestAdmin, TEST_PG_URL, TestSchemas } from '../src/store/postgres/pg-test-schema.js';
import { PidRegistry } from '../src/worker/pid-registry.js';
import { BENCH_TOKEN } from './cluster.js';
import { Deadline, sleep } from './measure.js';
import { removeDir, spawnTracked, stop, tempDir, type Tracked } from './procs.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const KEY_FILES = ['audit.key', 'job-token.key'];

export interface BenchHaMaster {
  readonly name: string;
  readonly dataDir: string;
  tracked: Tracked;
  port: number;
  httpPort: number;
}

interface Health {
  readonly ok?: boolean;
  readonly role?: string;
}

export class BenchHaCluster {
  readonly dir = tempDir('titan-bench-ha-');
  readonly masters: BenchHaMaster[] = [];
  private schema = '';
  private admin: pg.Client | null = null;
  private schemas: TestSchemas | null = null;
  private readonly workers = new Map<string, { tracked: Tracked; workDir: string }>();
  private readonly clients: TitanClient[] = [];

  constructor(private readonly leaseTtl: string) {
    // Made once and copied into each data dir before its first start, as an operator does.
    mkdirSync(join(this.dir, 'keys'));
    for (const file of KEY_FILES) writeFileSync(join(this.dir, 'keys', file), randomBytes(32).toString('hex'), { mode: 0o600 });
  }

  async open(): Promise<void> {
    this.admin = await connectTestAdmin();
    this.schemas = new TestSchemas(this.admin);
    this.schema = await this.schemas.create('bench_ha');
  }

  /** Starts a master (a standby until it leads) and resolves once both its ports are bound. */
  async startMaster(name: string): Promise<BenchHaMaster> {
    const dataDir = join(this.dir, name);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    for (const file of KEY_FILES) copyFileSync(join(this.dir, 'keys', file), join(dataDir, file));
    const master: BenchHaMaster = { name, dataDir, tracked: this.spawnMaster(dataDir, 0, 0), port: 0, httpPort: 0 };
    await this.awaitPorts(master);
    this.masters.push(master);
    return master;
  }

  /** Starts a killed master again on its data dir and its ports. */
  async restartMaster(master: BenchHaMaster): Promise<void> {
    master.tracked = this.spawnMaster(master.dataDir, master.port, master.httpPort);
    await this.awaitPorts(master);
  }

  async killMaster(master: BenchHaMaster): Promise<void> {
    await stop(master.tracked.child, 'SIGKILL');
  }

  masterList(): string {
    return this.masters.map((m) => `127.0.0.1:${m.port}`).join(',');
  }

  /** The one running master whose /healthz answers as the leader, once every other running one answers as a standby. */
  async leader(timeoutMs: number): Promise<BenchHaMaster> {
    const deadline = new Deadline('one leader among the masters', timeoutMs);
    for (;;) {
      const live = this.masters.filter((m) => m.tracked.child.exitCode === null && m.tracked.child.signalCode === null);
      const healths = await Promise.all(live.map((m) => health(m)));
      const leaders = live.filter((_, i) => healths[i]?.ok === true);
      if (leaders.length === 1 && healths.every((h) => h?.ok === true || h?.role === 'standby')) return leaders[0]!;
      deadline.check();
      await sleep(50);
    }
  }

  /** Starts a worker given every master and waits until the leader lists it healthy. */
  async startWorker(id: string, slots: number): Promise<void> {
    const workDir = join(this.dir, 'workers', id);
    const tracked = this.spawnTitan([
      'worker',
      '--master',
      this.masterList(),
      '--token',
      BENCH_TOKEN,
      '--id',
      id,
      '--work-dir',
      workDir,
      '--slots',
      String(slots),
    ]);
    this.workers.set(id, { tracked, workDir });
    await this.workersHealthy([id], 20_000);
  }

  /** Waits until the leader lists every one of `ids` healthy (after a failover: re-registered with it). */
  async workersHealthy(ids: readonly string[], timeoutMs: number): Promise<void> {
    const deadline = new Deadline(`workers ${ids.join(', ')} healthy at the leader`, timeoutMs);
    const client = await this.client();
    for (;;) {
      for (const id of ids) if (this.workers.get(id)?.tracked.child.exitCode !== null) throw new Error(`worker ${id} exited`);
      const stats = await client.stats().catch(() => null);
      if (stats !== null && ids.every((id) => stats.workers.some((w) => w.id === id && w.health === 'healthy'))) return;
      deadline.check();
      await sleep(50);
    }
  }

  /** A client given every master: it finds the leader and follows it. */
  async client(failoverTimeoutMs = 30_000): Promise<TitanClient> {
    const client = await TitanClient.connect({ masters: this.masterList(), token: BENCH_TOKEN, failoverTimeoutMs });
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
    for (const master of this.masters) await stop(master.tracked.child, 'SIGKILL');
    try {
      await this.schemas?.dropAll();
    } finally {
      await this.admin?.end();
      removeDir(this.dir);
    }
  }

  private async awaitPorts(master: BenchHaMaster): Promise<void> {
    master.port = Number((await master.tracked.line(/listening on 127\.0\.0\.1:(\d+)/, 20_000))[1]);
    master.httpPort = Number((await master.tracked.line(/http api and dashboard on http:\/\/127\.0\.0\.1:(\d+)/, 20_000))[1]);
  }

  private spawnMaster(dataDir: string, port: number, httpPort: number): Tracked {
    return this.spawnTitan([
      'master',
      '--store',
      TEST_PG_URL,
      '--store-schema',
      this.schema,
      '--lease-ttl',
      this.leaseTtl,
      '--listen',
      `127.0.0.1:${port}`,
      '--http',
      `127.0.0.1:${httpPort}`,
      '--data-dir',
      dataDir,
      '--token',
      BENCH_TOKEN,
    ]);
  }

  private spawnTitan(args: readonly string[]): Tracked {
    // The default (info) log level, as in cluster.ts: what a user runs.
    return spawnTracked(process.execPath, [MAIN, ...args], { env: { ...process.env, TITAN_HOME: this.dir } });
  }
}

/** The master's /healthz answer; null when it does not answer (stopped, or between roles). */
async function health(master: BenchHaMaster): Promise<Health | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${master.httpPort}/healthz`, { signal: AbortSignal.timeout(2_000) });
    return (await res.json()) as Health;
  } catch {
    return null;
  }
}
