/**
 * Several real `titan master --store postgres://…` processes on one PostgreSQL schema, and
 * workers given the list of them (docs/HA.md). Every master gets the same token and keys, as an
 * operator copies them. close() kills only what it started, by PID, reaps job processes from the
 * workers' pid registries, drops the schema and removes the dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { PRIVATE_KEY_FILE as INFERENCE_KEY_FILE } from '../src/inference/keys.js';
import { TitanClient } from '../src/sdk/client.js';
import { connectTestAdmin, TEST_PG_URL, TestSchemas } from '../src/store/postgres/pg-test-schema.js';
import { PidRegistry } from '../src/worker/pid-registry.js';
import { parseDuration } from '../src/common/when.js';
import { killAndWait, outputOf, TOKEN, until } from './harness.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const RANDOM_KEY_FILES = ['audit.key', 'job-token.key'];
const KEY_FILES = [...RANDOM_KEY_FILES, INFERENCE_KEY_FILE];

export interface HaMaster {
  readonly name: string;
  readonly dataDir: string;
  process: ChildProcess;
  port: number;
  httpPort: number;
  /** What it printed on stderr (its log, warnings and up). */
  log: string;
}

export interface HaClusterOptions {
  /** --lease-ttl of every master. */
  readonly leaseTtl?: string;
  readonly token?: string;
  /** TITAN_LOG_LEVEL of every process; the tests keep their output to warnings, the bench logs as a user's master does. */
  readonly logLevel?: string;
  /**
   * Heartbeats every 200 ms and a timeout of two leases plus 2 s, so the tests run fast (the default); false
   * keeps the defaults, which the bench measures.
   */
  readonly fastHeartbeats?: boolean;
}

interface Health {
  readonly role?: string;
  readonly epoch?: number;
  readonly leader?: { tcp: string | null };
}

export class HaCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'titan-ha-'));
  readonly masters: HaMaster[] = [];
  schema = '';
  private admin: pg.Client | null = null;
  private schemas: TestSchemas | null = null;
  private readonly children = new Set<ChildProcess>();
  private readonly workDirs = new Set<string>();
  private readonly workers = new Map<string, ChildProcess>();
  private readonly clients: TitanClient[] = [];

  private readonly leaseTtl: string;
  private readonly token: string;

  constructor(private readonly options: HaClusterOptions = {}) {
    this.leaseTtl = options.leaseTtl ?? '4s';
    this.token = options.token ?? TOKEN;
    // Jobs run as titan-job under a root worker and leave marker files here.
    chmodSync(this.dir, 0o1777);
    // The keys every master must share (docs/HA.md): made once, copied into each data dir.
    mkdirSync(join(this.dir, 'keys'));
    for (const file of RANDOM_KEY_FILES) writeFileSync(join(this.dir, 'keys', file), randomBytes(32).toString('hex'), { mode: 0o600 });
    const rsa = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    writeFileSync(join(this.dir, 'keys', INFERENCE_KEY_FILE), rsa.privateKey, { mode: 0o600 });
  }

  /** Creates the schema the masters share (dropped by close). */
  async open(): Promise<void> {
    this.admin = await connectTestAdmin();
    this.schemas = new TestSchemas(this.admin);
    this.schema = await this.schemas.create('ha');
  }

  /** A folder jobs may write (they run as titan-job under a root worker). */
  sharedFolder(name: string): string {
    const dir = join(this.dir, name);
    mkdirSync(dir);
    chmodSync(dir, 0o1777);
    return dir;
  }

  /** Starts a master process (a standby until it leads); resolves once its ports are bound. */
  async startMaster(name: string): Promise<HaMaster> {
    const dataDir = this.dataDirFor(name);
    const master: HaMaster = { name, dataDir, process: this.spawnMaster(dataDir, 0, 0), port: 0, httpPort: 0, log: '' };
    await this.awaitPorts(master);
    this.masters.push(master);
    return master;
  }

  /** A data dir holding the cluster's secrets, as an operator prepares one. */
  dataDirFor(name: string): string {
    const dataDir = join(this.dir, name);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    for (const file of KEY_FILES) copyFileSync(join(this.dir, 'keys', file), join(dataDir, file));
    return dataDir;
  }

  /** Runs a master on `dataDir` until it exits: for one that must refuse to start. */
  masterUntilExit(dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return outputOf(this.spawnMaster(dataDir, 0, 0));
  }

  /** Starts a killed master again on its data dir and its ports. */
  async restartMaster(master: HaMaster): Promise<void> {
    master.process = this.spawnMaster(master.dataDir, master.port, master.httpPort);
    await this.awaitPorts(master);
  }

  /** "127.0.0.1:p1,127.0.0.1:p2,…": what workers and clients are given. */
  masterList(): string {
    return this.masters.map((m) => `127.0.0.1:${m.port}`).join(',');
  }

  /** The master whose HTTP port answers as the leader, once every standby that answers names the same one. */
  async leader(timeoutMs = 30_000): Promise<HaMaster> {
    let found: HaMaster | undefined;
    await until(
      'one leader that every standby names',
      async () => {
        const live = this.masters.filter((m) => m.process.exitCode === null && m.process.signalCode === null);
        const healths = await Promise.all(live.map((m) => this.health(m)));
        const leaders = live.filter((_, i) => healths[i] !== null && healths[i]!.role !== 'standby');
        if (leaders.length !== 1) return false;
        found = leaders[0]!;
        const address = `127.0.0.1:${found.port}`;
        // A master that does not answer (frozen, or between roles) names nobody; every one that answers must name it.
        return healths.every((h, i) => live[i] === found || h === null || (h.role === 'standby' && h.leader?.tcp === address));
      },
      timeoutMs,
    );
    return found!;
  }

  /** The master's /healthz answer; null when it does not answer (stopped, or between roles). */
  async health(master: HaMaster): Promise<Health | null> {
    try {
      const res = await fetch(`http://127.0.0.1:${master.httpPort}/healthz`, { signal: AbortSignal.timeout(2_000) });
      return (await res.json()) as Health;
    } catch {
      return null;
    }
  }

  /** `tags`: the worker's capabilities (--tags), so a job can be sent to it alone. */
  async startWorker(id: string, slots = 4, tags?: string): Promise<void> {
    const workDir = join(this.dir, 'workers', id);
    this.workDirs.add(workDir);
    const tagged = tags !== undefined ? ['--tags', tags] : [];
    const worker = this.spawnTitan(['worker', '--master', this.masterList(), '--id', id, '--work-dir', workDir, '--slots', String(slots), ...tagged], {
      TITAN_TOKEN: this.token,
    });
    this.workers.set(id, worker);
    await this.workersHealthy([id]);
  }

  /** Waits until the leader lists every one of `ids` healthy (after a failover: re-registered with it). */
  async workersHealthy(ids: readonly string[], timeoutMs = 15_000): Promise<void> {
    const client = await this.client();
    await until(
      `workers ${ids.join(', ')} healthy at the leader`,
      async () => {
        for (const id of ids) if (this.workers.get(id)?.exitCode !== null) throw new Error(`worker ${id} exited`);
        const stats = await client.stats().catch(() => null);
        return stats !== null && ids.every((id) => stats.workers.some((w) => w.id === id && w.health === 'healthy'));
      },
      timeoutMs,
    );
  }

  /** A client given every master: it follows the leader through failovers. */
  async client(failoverTimeoutMs = 60_000): Promise<TitanClient> {
    const client = await TitanClient.connect({ masters: this.masterList(), token: this.token, failoverTimeoutMs });
    this.clients.push(client);
    return client;
  }

  async killMaster(master: HaMaster): Promise<void> {
    await killAndWait(master.process, 'SIGKILL');
  }

  cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const [command, ...rest] = args;
    return outputOf(this.spawnTitan([command ?? '', '--master', this.masterList(), ...rest], { TITAN_TOKEN: this.token }));
  }

  /** Ends every PostgreSQL session of the master (its pool's and its lease's, named after its pid); how many. */
  async terminateSessionsOf(master: HaMaster): Promise<number> {
    const { rows } = await this.admin!.query<{ terminated: boolean }>(
      'SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE application_name LIKE $1 AND pid <> pg_backend_pid()',
      [`titan-master-${master.process.pid}-%`],
    );
    return rows.filter((r) => r.terminated).length;
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.close();
    await Promise.all([...this.children].map((c) => (c.signalCode === 'SIGSTOP' ? resumeAndKill(c) : killAndWait(c, 'SIGKILL'))));
    for (const workDir of this.workDirs) await PidRegistry.killOrphans(join(workDir, 'pids.json'));
    await this.schemas?.dropAll();
    await this.admin?.end();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private spawnMaster(dataDir: string, port: number, httpPort: number): ChildProcess {
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
      this.token,
      ...(this.options.fastHeartbeats === false ? [] : this.fastHeartbeatFlags()),
    ]);
  }

  private fastHeartbeatFlags(): string[] {
    return [
      '--heartbeat-interval',
      '200',
      // How long a new leader waits for workers to claim their jobs (at least two leases: they cannot find it
      // before the old lease ends), and how long a worker waits on a silent (frozen) master before dialing the list.
      '--heartbeat-timeout',
      String(2 * parseDuration(this.leaseTtl, '--lease-ttl') + 2_000),
    ];
  }

  private async awaitPorts(master: HaMaster): Promise<void> {
    master.log = '';
    master.process.stderr?.on('data', (c: Buffer) => (master.log += c.toString()));
    let out = '';
    master.process.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    await until(
      `master ${master.name} to bind its ports`,
      async () => {
        if (master.process.exitCode !== null) throw new Error(`master ${master.name} exited: ${master.log}`);
        const match = /listening on 127\.0\.0\.1:(\d+)[^\n]*\nhttp api and dashboard on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (match === null) return false;
        master.port = Number(match[1]);
        master.httpPort = Number(match[2]);
        return true;
      },
      20_000,
    );
  }

  private spawnTitan(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
    const child = spawn(process.execPath, [MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TITAN_HOME: this.dir, TITAN_LOG_LEVEL: this.options.logLevel ?? 'warn', ...env },
    });
    child.stderr?.on('data', (c: Buffer) => {
      if (process.env.TITAN_TEST_VERBOSE) process.stderr.write(c);
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }
}

async function resumeAndKill(child: ChildProcess): Promise<void> {
  child.kill('SIGCONT');
  await killAndWait(child, 'SIGKILL');
}
