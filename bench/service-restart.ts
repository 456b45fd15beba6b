/**
 * Service restart: a server that stops listening and exits 1 one second after it starts, kept
 * alive by Titan and by PM2 (pm2-runtime, its own PM2_HOME in a temp dir). Each sample is from
 * the moment the old process stopped accepting (it writes that time, then exits) to the first
 * TCP connection its replacement accepts, probed from here.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { TitanClient } from '../src/sdk/client.js';
import { freePort } from '../src/worker/free-port.js';
import { Deadline, percentile, sleep } from './measure.js';
import { removeDir, spawnTracked, stop, tempDir } from './procs.js';

const SERVER = `
const net = require('node:net');
const fs = require('node:fs');
const server = net.createServer((socket) => socket.end());
server.listen(Number(process.env.PORT), '127.0.0.1', () => {
  setTimeout(() => server.close(() => {
    fs.appendFileSync(process.env.CRASH_LOG, process.pid + ' ' + (performance.timeOrigin + performance.now()) + '\\n');
    process.exit(1);
  }), 1000);
});
`;

/** Epoch time in ms with sub-ms precision, comparable across processes of this machine. */
const epochMs = (): number => performance.timeOrigin + performance.now();

interface Crash {
  readonly pid: number;
  readonly at: number;
}

function crashes(log: string): Crash[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [pid, at] = l.split(' ');
      return { pid: Number(pid), at: Number(at) };
    });
}

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Waits for each of `samples` crashes, then for the replacement to accept a connection. */
async function measureRestarts(log: string, port: number, samples: number, limitMs: number, what: string): Promise<{ samples: number[]; pids: number[] }> {
  const deadline = new Deadline(what, limitMs);
  const out: number[] = [];
  let seen = crashes(log).length;
  while (out.length < samples) {
    let all = crashes(log);
    while (all.length <= seen) {
      deadline.check();
      await sleep(1);
      all = crashes(log);
    }
    seen = all.length;
    const crash = all[all.length - 1] as Crash;
    while (!(await tryConnect(port))) deadline.check();
    out.push(epochMs() - crash.at);
  }
  return { samples: out, pids: crashes(log).map((c) => c.pid) };
}

function killLeftovers(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone, as it should be.
    }
  }
}

export interface RestartFigures {
  readonly p50Ms: number;
  readonly samplesMs: number[];
}

/** Titan: the script deployed as a service (port auto, restart always) on the bench's worker. */
export async function titanServiceRestart(client: TitanClient, samples: number, limitMs: number): Promise<RestartFigures> {
  const dir = tempDir('titan-bench-svc-');
  const script = join(dir, 'crash-server.cjs');
  const log = join(dir, 'crashes.log');
  writeFileSync(script, SERVER);
  // A root worker runs the service as its job user, who may not create files here: the log is made writable for it.
  writeFileSync(log, '');
  chmodSync(log, 0o666);
  let id: string | null = null;
  try {
    const { jobId } = await client.submit({
      name: 'bench-crash-server',
      command: `exec ${process.execPath} ${script}`,
      env: { CRASH_LOG: log },
      service: { port: null, restart: 'always', maxRestarts: 1000, windowSeconds: 60 },
    });
    id = jobId;
    const deadline = new Deadline('the service to be ready', 20_000);
    let port: number | null = null;
    while (port === null) {
      deadline.check();
      const svc = (await client.services()).find((s) => s.id === jobId);
      if (svc?.ready === true && svc.port !== null) port = svc.port;
      else await sleep(10);
    }
    const measured = await measureRestarts(log, port, samples, limitMs, 'Titan service restarts');
    return { p50Ms: percentile(measured.samples, 50), samplesMs: measured.samples };
  } finally {
    if (id !== null) await client.stopService(id).catch(() => undefined);
    removeDir(dir);
  }
}

const PM2_RUNTIME = fileURLToPath(new URL('../../node_modules/pm2/bin/pm2-runtime', import.meta.url));

/** PM2: the same script under pm2-runtime (autorestart, no restart delay), stopped by its PID afterwards. */
export async function pm2ServiceRestart(samples: number, limitMs: number): Promise<RestartFigures> {
  const dir = tempDir('titan-bench-pm2-');
  const script = join(dir, 'crash-server.cjs');
  const log = join(dir, 'crashes.log');
  writeFileSync(script, SERVER);
  const port = await freePort();
  const ecosystem = join(dir, 'ecosystem.config.json');
  writeFileSync(
    ecosystem,
    JSON.stringify({
      apps: [
        {
          name: 'bench-crash-server',
          script,
          autorestart: true,
          max_restarts: 1000,
          min_uptime: 500,
          restart_delay: 0,
          env: { PORT: String(port), CRASH_LOG: log },
        },
      ],
    }),
  );
  if (!existsSync(PM2_RUNTIME)) throw new Error(`PM2 is not installed (${PM2_RUNTIME}): run npm install`);
  const pm2 = spawnTracked(process.execPath, [PM2_RUNTIME, ecosystem], { env: { ...process.env, PM2_HOME: join(dir, 'pm2-home') } });
  let pids: number[] = [];
  try {
    const measured = await measureRestarts(log, port, samples, limitMs, 'PM2 restarts');
    pids = measured.pids;
    return { p50Ms: percentile(measured.samples, 50), samplesMs: measured.samples };
  } finally {
    await stop(pm2.child, 'SIGINT', 10_000);
    // pm2-runtime stops its apps on SIGINT; anything it left behind is killed by its PID.
    killLeftovers([...pids, ...crashes(log).map((c) => c.pid), ...appPids(join(dir, 'pm2-home'))]);
    removeDir(dir);
  }
}

/** The app PIDs PM2 recorded in its home (pids/<name>-<id>.pid). */
function appPids(home: string): number[] {
  const pidsDir = join(home, 'pids');
  if (!existsSync(pidsDir)) return [];
  try {
    return readFileSync(join(pidsDir, 'bench-crash-server-0.pid'), 'utf8')
      .split('\n')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}
