/**
 * How long the `titan` command takes to start, against the floor of starting Node at all
 * (`node -e ""`), in the same run: `titan --version` (main.ts and its few imports, not commander)
 * and `titan jobs --limit 20` against a running master (commander, connect, one request, a table).
 * The three are sampled round-robin so load that comes and goes during the step falls on each alike.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Deadline, now, percentile, round } from './measure.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export interface CliStart {
  readonly nodeFloorMsP50: number;
  readonly versionMsP50: number;
  readonly jobsMsP50: number;
}

function timeRun(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(now() - t0) : reject(new Error(`node ${args.join(' ')} exited ${String(code)}: ${stderr.trim()}`))));
  });
}

/** `runs` measured rounds after `warmup` unmeasured ones; each round starts all three once. */
export async function cliStart(master: string, token: string, runs: number, warmup: number, limitMs: number): Promise<CliStart> {
  const deadline = new Deadline('CLI start', limitMs);
  const env = { ...process.env, TITAN_MASTER: master, TITAN_TOKEN: token };
  const commands = { floor: ['-e', ''], version: [MAIN, '--version'], jobs: [MAIN, 'jobs', '--limit', '20'] } as const;
  const samples: Record<keyof typeof commands, number[]> = { floor: [], version: [], jobs: [] };
  for (let round = 0; round < warmup + runs; round++) {
    for (const name of Object.keys(commands) as (keyof typeof commands)[]) {
      deadline.check();
      const ms = await timeRun(commands[name], env);
      if (round >= warmup) samples[name].push(ms);
    }
  }
  return {
    nodeFloorMsP50: round(percentile(samples.floor, 50), 1),
    versionMsP50: round(percentile(samples.version, 50), 1),
    jobsMsP50: round(percentile(samples.jobs, 50), 1),
  };
}
