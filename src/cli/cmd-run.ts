import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { TitanError, ErrorCode } from '../common/errors.js';
import type { SubmitInput } from '../sdk/client.js';
import { printJson, withClient, withClientFlags, type GlobalFlags } from './client-command.js';
import { describeOutcome } from './format.js';
import { Exit } from './exit-codes.js';
import { followJob, progressMode } from './follow.js';
import { parseTags } from './settings.js';
import { isolationFlags, type JobIsolationFlags } from './isolation-flags.js';
import { parseDuration, parseInstant } from '../common/when.js';
import { GENERAL } from '../core/requirement.js';

interface RunFlags extends GlobalFlags, JobIsolationFlags {
  requirement?: string;
  priority?: string;
  retries?: string;
  timeout?: string;
  env: string[];
  name?: string;
  project?: string;
  wait?: boolean;
  delay?: string;
  at?: string;
}

/** `--delay 5m` / `--at 2026-12-01T08:00:00Z`: when a job (or a DAG run) may start. */
export function timingFrom(flags: { delay?: string; at?: string }): { delaySeconds?: number; runAt?: number } {
  if (flags.delay !== undefined && flags.at !== undefined) {
    throw new TitanError(
      ErrorCode.INVALID_REQUEST,
      `--delay ${flags.delay} and --at ${flags.at} contradict each other (a delay from now, or an instant); give one of them`,
    );
  }
  return {
    ...(flags.delay !== undefined ? { delaySeconds: parseDuration(flags.delay, '--delay') / 1000 } : {}),
    ...(flags.at !== undefined ? { runAt: parseInstant(flags.at, '--at') } : {}),
  };
}

function parseEnv(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new TitanError(ErrorCode.INVALID_REQUEST, `--env expects KEY=VALUE, got "${pair}"`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new TitanError(ErrorCode.INVALID_REQUEST, `${flag} expects a number, got "${value}"`);
  return n;
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Node decodes argv as UTF-8 and replaces bytes that are not with U+FFFD, so the bytes typed are
 * already gone when they reach us: refuse rather than run something else than was asked.
 */
function checkUtf8(words: readonly string[], what: (i: number) => string): void {
  const bad = words.findIndex((w) => w.includes('\ufffd'));
  if (bad >= 0) {
    throw new TitanError(
      ErrorCode.INVALID_REQUEST,
      `${what(bad)} is not valid UTF-8 (it reached titan as U+FFFD, the replacement character); pass text as UTF-8, or binary data in a file`,
    );
  }
}

/** A path to an existing file is uploaded and run by its extension; anything else is a command line. */
export function submitInputFrom(target: string, args: readonly string[], flags: RunFlags): SubmitInput {
  checkUtf8([target, ...args], (i) => (i === 0 ? 'the command' : `argument ${i}`));
  checkUtf8(flags.env, (i) => `--env ${flags.env[i]?.split('=')[0] ?? ''}`);
  const isFile = existsSync(target) && statSync(target).isFile();
  const priority = number('--priority', flags.priority);
  const retries = number('--retries', flags.retries);
  const timeoutSeconds = number('--timeout', flags.timeout);
  const common = {
    requirement: parseTags(flags.requirement),
    env: parseEnv(flags.env),
    ...(flags.name !== undefined ? { name: flags.name } : {}),
    ...(priority !== undefined ? { priority } : {}),
    ...(retries !== undefined ? { retries } : {}),
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    ...(flags.project !== undefined ? { project: flags.project } : {}),
    ...isolationFlags(flags),
    ...timingFrom(flags),
  };
  if (isFile) return { ...common, file: target, args: [...args] };
  // A lone argument is a command line as typed; several are argv words, quoted so the shell keeps them apart.
  return { ...common, command: args.length === 0 ? target : [target, ...args].map(shellQuote).join(' ') };
}

export function registerRun(program: Command): void {
  withClientFlags(
    program
      .command('run')
      .description('run a script (uploaded, interpreter by extension) or a command on a worker')
      .argument('<file|command>', 'a script path, or a command')
      .argument('[args...]', 'arguments')
      .option('--requirement <tags>', 'tags the worker must have, e.g. GPU', GENERAL)
      .option('--priority <n>', 'higher runs first')
      .option('--retries <n>', 'attempts after the first')
      .option('--timeout <seconds>', 'kill the job after this long')
      .option('--env <KEY=VALUE>', 'environment variable (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
      .option('--name <name>', 'a name shown in listings')
      .option('--project <dir>', 'upload this folder as the job workspace (the script runs at its relative path)')
      .option('--delay <duration>', 'queue it this long after it is accepted: 30s, 5m, 2h, 1d')
      .option('--at <time>', 'queue it at this time: ISO 8601 with a zone, e.g. 2026-12-01T08:00:00Z')
      .option('--wait', 'stream the output and wait for the end; exit code follows the job')
      .option('--cpu <cores>', 'CPU cores reserved and enforced (fractions allowed)')
      .option('--memory <size>', 'memory reserved and enforced, e.g. 256M or 2G; over it the job ends oom')
      .option('--gpu <n>', 'GPUs reserved')
      .option('--driver <name>', 'process, sandbox or docker (the worker must offer it)')
      .option('--network <mode>', 'host or none (sandbox and docker drivers)')
      .option('--image <image>', 'container image (docker driver)'),
  ).action(async (target: string, args: string[], flags: RunFlags) => {
    process.exitCode = await withClient(flags, async (client) => {
      const { jobId } = await client.submit(submitInputFrom(target, args, flags));
      if (!flags.wait) {
        if (flags.json) printJson({ jobId });
        else process.stdout.write(`${jobId}\n`);
        return Exit.OK;
      }
      const job = await followJob(client, jobId, progressMode(flags.json));
      if (flags.json) printJson(job);
      else process.stderr.write(`${describeOutcome(job)}\n`);
      return job.state === 'succeeded' ? Exit.OK : Exit.JOB_FAILED;
    });
  });
}
