import { copyFile, mkdir, rename, writeFile, access, lchown } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve, sep } from 'node:path';
import { TitanError, ErrorCode } from '../common/errors.js';
import type { JobDispatch } from '../protocol/messages.js';
import type { Executor, RunningJob, StartRequest } from './executor.js';
import type { OutputLine } from './output-lines.js';
import type { DriverName, JobResources } from '../core/resources.js';
import { extractBundle, jobDir, sharedDir } from './workspace.js';
import { freshWorkspace, handOver, handOverEmpty, jobUserEnvironment, type JobUser } from './job-user.js';

/** Fetches an artifact's bytes from the master. */
export type ArtifactFetcher = (hash: string) => Promise<Uint8Array>;

export interface RunnerContext {
  readonly workDir: string;
  /** Holds the job workspaces (`jobs/`) and DAG folders (`shared/`); default the work dir. */
  readonly jobsRoot?: string;
  readonly masterHost: string;
  readonly masterPort: number;
  /** With several masters, all of them (`a:9090,b:9090`): jobs get it as TITAN_MASTER, so their SDKs follow the leader too. */
  readonly masterList?: string;
  readonly workerId: string;
  /** The worker's own environment without its TITAN_* variables (see workerBaseEnvironment). */
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly executor: Executor;
  /** The driver for jobs that do not ask for one (the worker's --driver). */
  readonly driver?: DriverName;
  readonly fetchArtifact: ArtifactFetcher;
  /** Jobs run as this user (a root worker's `--job-user`); null or absent: as the worker. */
  readonly jobUser?: JobUser | null;
}

const inFlight = new Map<string, Promise<string>>();

/**
 * Artifacts are cached per worker by content address, so a script used a thousand times is
 * fetched once; concurrent jobs needing the same one share a single fetch.
 */
function cachedArtifact(ctx: RunnerContext, hash: string): Promise<string> {
  const path = join(ctx.workDir, 'artifacts', hash);
  let pending = inFlight.get(path);
  if (pending === undefined) {
    pending = fetchOnce(ctx, hash, path).finally(() => inFlight.delete(path));
    inFlight.set(path, pending);
  }
  return pending;
}

async function fetchOnce(ctx: RunnerContext, hash: string, path: string): Promise<string> {
  try {
    await access(path);
    return path;
  } catch {
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temp, await ctx.fetchArtifact(hash));
    await rename(temp, path);
    return path;
  }
}

/**
 * What every job inherits from the worker: its environment minus the worker's own TITAN_*
 * settings, which would otherwise leak into jobs and be mistaken for the job's. Computed once
 * when the worker starts rather than per job.
 */
export function workerBaseEnvironment(env: NodeJS.ProcessEnv, clean = false): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || key.startsWith('TITAN_')) continue;
    if (clean && !CLEAN_KEYS.has(key) && !key.startsWith('LC_')) continue;
    base[key] = value;
  }
  return base;
}

/**
 * What a clean environment keeps of the worker's (as Nomad's exec driver does): where programs
 * are, who and where the user is, the locale and time zone. Everything else a job needs it
 * declares in its own `env`.
 */
const CLEAN_KEYS = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TERM', 'TMPDIR']);

/** The service addresses (TITAN_SERVICE_<ID>_URL and _PORT) on top of the worker's own environment and the job's. */
function jobEnvironment(ctx: RunnerContext, job: JobDispatch, workspace: string, shared: string): Record<string, string> {
  const env: Record<string, string> = { ...ctx.baseEnv };
  if (ctx.jobUser != null) Object.assign(env, jobUserEnvironment(ctx.jobUser, workspace));
  Object.assign(env, job.env, {
    TITAN_JOB_ID: job.jobId,
    TITAN_JOB_NAME: job.name,
    TITAN_ATTEMPT: String(job.attempt),
    TITAN_WORKSPACE: workspace,
    TITAN_SHARED_DIR: shared,
    TITAN_WORKER_ID: ctx.workerId,
    TITAN_HOST: ctx.masterHost,
    TITAN_PORT: String(ctx.masterPort),
    TITAN_TOKEN: job.token,
  });
  if (job.dagId !== undefined) env.TITAN_DAG_ID = job.dagId;
  if (ctx.masterList !== undefined) env.TITAN_MASTER = ctx.masterList;
  return env;
}

/** Prepares the workspace (bundle, then script) and starts the attempt. */
export async function startJob(
  ctx: RunnerContext,
  job: JobDispatch,
  onLines: (lines: OutputLine[]) => void,
  extraEnv?: Readonly<Record<string, string>>,
): Promise<RunningJob> {
  return ctx.executor.start(await prepareJob(ctx, job, onLines, extraEnv));
}

/**
 * Prepares the workspace and returns what to start, so a supervisor can start the same process
 * again without preparing twice. `extraEnv` is set over everything else (a service's PORT).
 */
export async function prepareJob(
  ctx: RunnerContext,
  job: JobDispatch,
  onLines: (lines: OutputLine[]) => void,
  extraEnv?: Readonly<Record<string, string>>,
): Promise<StartRequest> {
  const jobsRoot = ctx.jobsRoot ?? ctx.workDir;
  const workspace = jobDir(jobsRoot, job.jobId);
  const shared = job.dagId !== undefined ? sharedDir(jobsRoot, job.dagId) : workspace;
  const user = ctx.jobUser ?? null;
  if (job.dagId !== undefined) {
    await mkdir(shared, { recursive: true });
    if (user !== null) await lchown(shared, user.uid, user.gid);
  }
  const filled = job.bundle !== undefined || job.run.kind === 'script';
  // As root, the worker starts from an empty folder of its own (see freshWorkspace). Otherwise the
  // executor creates the workspace itself; only files put there first need it earlier.
  if (user !== null) await freshWorkspace(workspace);
  else if (filled) await mkdir(workspace, { recursive: true });
  if (job.bundle !== undefined) await extractBundle(await cachedArtifact(ctx, job.bundle), workspace);
  if (job.run.kind === 'script') {
    const target = resolve(workspace, job.run.fileName);
    if (!target.startsWith(workspace + sep)) {
      throw new TitanError(ErrorCode.UNSAFE_PATH, `script path ${job.run.fileName} escapes the job workspace; use a path relative to the project folder`);
    }
    await mkdir(dirname(target), { recursive: true });
    await copyFile(await cachedArtifact(ctx, job.run.artifact), target);
  }
  if (user !== null) {
    if (filled) await handOver(workspace, user);
    else handOverEmpty(workspace, user);
  }
  const env = jobEnvironment(ctx, job, workspace, shared);
  if (extraEnv !== undefined) Object.assign(env, extraEnv);
  const resources = resourcesOf(job.resources);
  const driver = job.driver ?? ctx.driver;
  return {
    jobId: job.jobId,
    attempt: job.attempt,
    run: job.run,
    args: job.args,
    env,
    workspace,
    ...(job.timeoutSeconds > 0 ? { timeoutMs: job.timeoutSeconds * 1000 } : {}),
    onLines,
    ...(resources !== undefined ? { resources } : {}),
    ...(driver !== undefined ? { driver } : {}),
    ...(job.network !== undefined ? { network: job.network } : {}),
    ...(shared !== workspace ? { writable: [shared] } : {}),
    ...(user !== null ? { user: { uid: user.uid, gid: user.gid } } : {}),
  };
}

function resourcesOf(given: JobDispatch['resources']): JobResources | undefined {
  if (given === undefined) return undefined;
  const out: { cpu?: number; memoryMb?: number; gpu?: number } = {};
  if (given.cpu !== undefined) out.cpu = given.cpu;
  if (given.memoryMb !== undefined) out.memoryMb = given.memoryMb;
  if (given.gpu !== undefined) out.gpu = given.gpu;
  return out;
}
