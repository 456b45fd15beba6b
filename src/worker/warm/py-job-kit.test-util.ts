/** Runs `.py` jobs through a real Executor, warm (forked from a WarmPythons server) or cold, for the behaviour tests. */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Executor, type JobResult, type RunningJob, type StartRequest } from '../executor.js';
import type { OutputLine } from '../output-lines.js';
import type { Confiner } from '../confine/confiner.js';
import { WarmPythons, type WarmPythonOptions } from './warm-pythons.js';

export const BASE_ENV: Readonly<Record<string, string>> = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };

export interface PyRun {
  readonly result: JobResult;
  readonly stdout: string[];
  readonly stderr: string[];
  readonly pid: number | undefined;
}

export class PyJobKit {
  readonly executor: Executor;
  readonly warm: WarmPythons | undefined;
  #seq = 0;

  private constructor(
    readonly root: string,
    warm: WarmPythons | undefined,
    confiner: Confiner | undefined,
  ) {
    this.warm = warm;
    this.executor = new Executor({
      killGraceMs: 1_000,
      stdioGraceMs: 2_000,
      lineFlushMs: 10,
      ...(warm !== undefined ? { warm } : {}),
      ...(confiner !== undefined ? { confiner } : {}),
    });
  }

  /** A kit whose jobs are forked warm (`warm: true`, the server started and ready) or spawned cold. */
  static async create(root: string, warm: boolean, options: { confiner?: Confiner; warmOptions?: Partial<WarmPythonOptions> } = {}): Promise<PyJobKit> {
    let pythons: WarmPythons | undefined;
    if (warm) {
      pythons = new WarmPythons({ baseEnv: BASE_ENV, cwd: root, ...options.warmOptions });
      await pythons.start();
      await pythons.ready();
    }
    return new PyJobKit(root, pythons, options.confiner);
  }

  /** Writes the script into a new workspace and starts it. */
  async start(source: string, extra: Partial<StartRequest> = {}): Promise<{ job: RunningJob; lines: OutputLine[]; workspace: string }> {
    const seq = ++this.#seq;
    const workspace = path.join(this.root, `job-${seq}`);
    await mkdir(workspace, { recursive: true });
    await writeFile(path.join(workspace, 'job.py'), source);
    const lines: OutputLine[] = [];
    const job = this.executor.start({
      jobId: `py${seq}`,
      attempt: 1,
      run: { kind: 'script', fileName: 'job.py', artifact: 'a' },
      args: [],
      env: BASE_ENV,
      workspace,
      ...extra,
      onLines: (batch) => lines.push(...batch),
    });
    return { job, lines, workspace };
  }

  async run(source: string, extra: Partial<StartRequest> = {}): Promise<PyRun> {
    const { job, lines } = await this.start(source, extra);
    const result = await within(job.done, 30_000, 'the job to end');
    const of = (stream: string): string[] => lines.filter((l) => l.stream === stream).map((l) => l.line);
    return { result, stdout: of('stdout'), stderr: of('stderr'), pid: job.pid };
  }

  async close(): Promise<void> {
    await this.executor.close();
    this.warm?.close();
  }
}

export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Re-checks every 20 ms until `check` holds; fails after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not true within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Running, and not a zombie waiting to be reaped (an orphan's reaper may be slow, or absent in a container). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
