/**
 * Issue 19's figures: `.py` jobs forked from the worker's warm interpreter against the same jobs
 * spawned cold (`--no-warm`) and against Node spawning `python3 -u hi.py` itself, all in one run.
 * The script is uploaded once and submitted by its address, so submit → done is the job's own cost.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TitanClient } from '../src/sdk/client.js';
import { Opcode } from '../src/protocol/opcodes.js';
import { BenchCluster } from './cluster.js';
import { Deadline, now, percentile, round, sleep, within } from './measure.js';
import { removeDir, tempDir } from './procs.js';
import { pushJobs } from './titan.js';

export interface PythonCounts {
  readonly latencyJobs: number;
  readonly warmupJobs: number;
  readonly throughputJobs: number;
  readonly batch: number;
  readonly slots: number;
}

export interface PythonFigures {
  py_job_latency_p50_ms: number | null;
  py_spawn_floor_p50_ms: number | null;
  py_job_cold_p50_ms: number | null;
  py_numpy_job_p50_ms: number | null;
  py_numpy_job_cold_p50_ms: number | null;
  py_throughput_jobs_per_s: number | null;
  py_throughput_cold_jobs_per_s: number | null;
}

const HI = 'print("hi")\n';
const NUMPY = 'import numpy\nprint("hi", numpy.__version__)\n';
/** Prints the pid of the job's parent: the warm server when forked, the worker when spawned. */
const PARENT = 'import os\nprint(os.getppid())\n';

type Script = { readonly fileName: string; readonly artifact: string };

/** A script job by its uploaded address: the request `titan run` sends, without the upload. */
function submitScript(client: TitanClient, script: Script, count: number): Promise<{ jobIds: string[] }> {
  // The SDK's submit uploads the file each time; the bench sends the same request with the address.
  const peer = client['peer'];
  const jobs = Array.from({ length: count }, () => ({ run: { kind: 'script', ...script } }));
  return peer.request(Opcode.JOB_SUBMIT_BATCH, { jobs }) as Promise<{ jobIds: string[] }>;
}

async function runOne(client: TitanClient, script: Script): Promise<string> {
  const [jobId] = (await submitScript(client, script, 1)).jobIds;
  if (jobId === undefined) throw new Error('the master accepted no job');
  const view = await client.wait(jobId);
  if (view.state !== 'succeeded') throw new Error(`job ${jobId} ended ${view.state}: ${view.reason ?? ''}`);
  return jobId;
}

async function sequentialP50(client: TitanClient, script: Script, count: number, warmup: number, limitMs: number): Promise<number> {
  const deadline = new Deadline('sequential .py jobs', limitMs);
  for (let i = 0; i < warmup; i++) await within('a warm-up job', deadline.remainingMs, runOne(client, script));
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = now();
    await within('a measured job', deadline.remainingMs, runOne(client, script));
    samples.push(now() - t0);
  }
  return percentile(samples, 50);
}

/** Waits until jobs on every given worker are forked warm (their parent is not the worker itself). */
async function untilWarm(client: TitanClient, probe: Script, workerPids: readonly number[], limitMs: number): Promise<void> {
  const deadline = new Deadline('the warm interpreters to be ready', limitMs);
  for (;;) {
    const { jobIds } = await submitScript(client, probe, workerPids.length * 4);
    await Promise.all(jobIds.map((id) => client.wait(id)));
    const parents = await Promise.all(jobIds.map(async (id) => Number((await client.logs(id))[0]?.line)));
    if (parents.every((p) => !workerPids.includes(p))) return;
    deadline.check();
    await sleep(200);
  }
}

/** Node spawning `python3 -u <script>` with pipes, as the worker's cold path does: the floor. */
function spawnPythonP50(python: string, script: string, env: NodeJS.ProcessEnv, count: number, limitMs: number): Promise<number> {
  const once = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = spawn(python, ['-u', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.resume();
      child.stderr.resume();
      child.once('error', reject);
      child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${python} ${script} exited ${String(code)}`))));
    });
  return (async () => {
    const deadline = new Deadline('spawning python3', limitMs);
    await once();
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
      deadline.check();
      const t0 = now();
      await once();
      samples.push(now() - t0);
    }
    return percentile(samples, 50);
  })();
}

interface ClusterRun {
  readonly latencyP50Ms: number;
  readonly throughputJobsPerS: number | null;
}

/** A master and one worker (latency), then a second (throughput, 2 × slots), warm or `--no-warm`. */
async function measureCluster(
  dir: string,
  scriptFile: string,
  counts: PythonCounts,
  options: { warm: boolean; workerArgs: readonly string[]; env: Record<string, string>; throughput: boolean; limitMs: number },
): Promise<ClusterRun> {
  const cluster = new BenchCluster();
  try {
    await cluster.startMaster();
    const args = [...options.workerArgs, ...(options.warm ? [] : ['--no-warm'])];
    const workers = [await cluster.startWorker('py-1', counts.slots, { args, env: options.env })];
    const client = await cluster.client();
    const upload = async (file: string): Promise<Script> => ({ fileName: 'job.py', artifact: await client.upload(readFileSync(file)) });
    const script = await upload(scriptFile);
    const probe = await upload(join(dir, 'parent.py'));
    if (options.warm) await untilWarm(client, probe, workers, options.limitMs);
    const latencyP50Ms = await sequentialP50(client, script, counts.latencyJobs, counts.warmupJobs, options.limitMs);
    if (!options.throughput) return { latencyP50Ms, throughputJobsPerS: null };
    workers.push(await cluster.startWorker('py-2', counts.slots, { args, env: options.env }));
    if (options.warm) await untilWarm(client, probe, workers, options.limitMs);
    const pushed = await pushJobs(client, counts.throughputJobs, counts.batch, counts.throughputJobs, options.limitMs, (size) =>
      submitScript(client, script, size),
    );
    return { latencyP50Ms, throughputJobsPerS: pushed.jobsPerS };
  } finally {
    await cluster.close();
  }
}

/** Debian's python3-numpy under /usr/bin/python3, installed by the project's script when missing. */
function systemNumpy(log: (line: string) => void): string | null {
  const has = (): boolean => spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
  if (has()) return null;
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  spawnSync(process.execPath, [join(root, 'scripts', 'ensure-system-deps.mjs')], { stdio: 'inherit' });
  if (has()) return null;
  const reason = '/usr/bin/python3 cannot import numpy (apt-get install python3-numpy)';
  log(`  numpy figures skipped: ${reason}`);
  return reason;
}

export async function pythonFigures(
  counts: PythonCounts,
  limitMs: number,
  log: (line: string) => void,
): Promise<{ figures: PythonFigures; extra: Record<string, unknown> }> {
  const f: PythonFigures = {
    py_job_latency_p50_ms: null,
    py_spawn_floor_p50_ms: null,
    py_job_cold_p50_ms: null,
    py_numpy_job_p50_ms: null,
    py_numpy_job_cold_p50_ms: null,
    py_throughput_jobs_per_s: null,
    py_throughput_cold_jobs_per_s: null,
  };
  const extra: Record<string, unknown> = {
    py_counts: counts,
    py_shape: `latency: 1 worker x ${counts.slots} slots, sequential; throughput: 2 workers x ${counts.slots} slots`,
  };
  const dir = tempDir('titan-bench-py-');
  try {
    const hi = join(dir, 'hi.py');
    const np = join(dir, 'np.py');
    writeFileSync(hi, HI);
    writeFileSync(np, NUMPY);
    writeFileSync(join(dir, 'parent.py'), PARENT);
    // One interpreter for the floor, the warm and the cold runs: a root worker's jobs run as the job
    // user, who cannot use a pyenv shim under /root, so they get Debian's; the floor must spawn that too.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const system = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : spawnSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(system, join(bin, 'python3'));
    const env = { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
    extra.py_interpreter = system;
    f.py_spawn_floor_p50_ms = await spawnPythonP50('python3', hi, { ...process.env, ...env }, counts.latencyJobs, limitMs);
    log(`  python3 spawn floor p50 ${round(f.py_spawn_floor_p50_ms)} ms (${system})`);
    const warm = await measureCluster(dir, hi, counts, { warm: true, workerArgs: [], env, throughput: true, limitMs });
    f.py_job_latency_p50_ms = warm.latencyP50Ms;
    f.py_throughput_jobs_per_s = warm.throughputJobsPerS;
    log(`  warm: p50 ${round(warm.latencyP50Ms)} ms, ${round(warm.throughputJobsPerS ?? 0)} jobs/s`);
    const cold = await measureCluster(dir, hi, counts, { warm: false, workerArgs: [], env, throughput: true, limitMs });
    f.py_job_cold_p50_ms = cold.latencyP50Ms;
    f.py_throughput_cold_jobs_per_s = cold.throughputJobsPerS;
    log(`  cold: p50 ${round(cold.latencyP50Ms)} ms, ${round(cold.throughputJobsPerS ?? 0)} jobs/s`);
    const skipped = systemNumpy(log);
    if (skipped !== null) {
      extra.py_numpy_skipped_reason = skipped;
    } else {
      // python3 on PATH is Debian's, which has numpy; the same for the warm and the cold worker.
      const numpyCounts = { ...counts, latencyJobs: Math.max(10, Math.round(counts.latencyJobs / 2)) };
      const numpyWarm = await measureCluster(dir, np, numpyCounts, { warm: true, workerArgs: ['--python-preload', 'numpy'], env, throughput: false, limitMs });
      f.py_numpy_job_p50_ms = numpyWarm.latencyP50Ms;
      const numpyCold = await measureCluster(dir, np, numpyCounts, { warm: false, workerArgs: [], env, throughput: false, limitMs });
      f.py_numpy_job_cold_p50_ms = numpyCold.latencyP50Ms;
      extra.py_numpy_interpreter = '/usr/bin/python3 (Debian python3-numpy)';
      log(`  numpy: warm (preloaded) p50 ${round(numpyWarm.latencyP50Ms)} ms, cold p50 ${round(numpyCold.latencyP50Ms)} ms`);
    }
  } finally {
    removeDir(dir);
  }
  return { figures: f, extra };
}
