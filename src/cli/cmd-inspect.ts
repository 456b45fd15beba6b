import type { Command } from 'commander';
import { JOB_STATES, type JobState } from '../core/job.js';
import { TitanError, ErrorCode } from '../common/errors.js';
import { printJson, withClient, withClientFlags, type GlobalFlags } from './client-command.js';
import { bytes, describeOutcome, duration, jobRuntime, table, workerTags } from './format.js';
import { Exit } from './exit-codes.js';
import { mastersText } from './masters-text.js';

function parseStates(value: string | undefined): JobState[] | undefined {
  if (value === undefined) return undefined;
  const states = value.split(',').map((s) => s.trim());
  for (const s of states) {
    if (!(JOB_STATES as readonly string[]).includes(s))
      throw new TitanError(ErrorCode.INVALID_REQUEST, `unknown state "${s}" (states: ${JOB_STATES.join(', ')})`);
  }
  return states as JobState[];
}

/** stats, jobs, status, logs, cancel: the commands that look at and steer what runs. */
export function registerInspect(program: Command): void {
  withClientFlags(
    program.command('gc').description("delete finished history older than the master's --retention now, and the artifact files nothing names any more (admin)"),
  ).action(async (flags: GlobalFlags) => {
    await withClient(flags, async (client) => {
      const pass = await client.security.gc();
      if (flags.json) return printJson(pass);
      process.stdout.write(
        `deleted ${pass.jobs} jobs (with their events), ${pass.logChunks} log chunks and ${pass.dags} DAG runs finished over ${duration(pass.retentionMs)} ago, ` +
          `and ${pass.artifacts} artifact files (${bytes(pass.artifactBytes)}) nothing names, in ${pass.batches} batches (longest ${pass.batchMsMax.toFixed(2)} ms)\n`,
      );
    });
  });
  withClientFlags(program.command('stats').description('workers, their load, and queue depths')).action(async (flags: GlobalFlags) => {
    await withClient(flags, async (client) => {
      const stats = await client.stats();
      if (flags.json) return printJson(stats);
      // Reserved/total: what the jobs it holds declared, of what it advertised.
      const rows = stats.workers.map((w) => [
        w.id,
        w.host,
        workerTags(w.tags),
        `${w.running}/${w.slots}`,
        `${Math.round(w.load * 100)}%`,
        w.health,
        `${w.reserved?.cpus ?? 0}/${w.cpus}`,
        `${w.reserved?.memoryMb ?? 0}/${w.memoryMb}`,
        (w.drivers ?? ['process']).join(','),
      ]);
      process.stdout.write(`${table(['WORKER', 'HOST', 'TAGS', 'RUNNING', 'LOAD', 'HEALTH', 'CPUS', 'MEM_MB', 'DRIVERS'], rows)}\n\n`);
      const queues =
        Object.entries(stats.queues)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ') || 'empty';
      const jobs =
        Object.entries(stats.jobs)
          .filter(([, v]) => v > 0)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ') || 'none';
      process.stdout.write(`queues: ${queues}\njobs: ${jobs}\nuptime: ${duration(stats.uptimeMs)}\n`);
      // Only a master of a replicated cluster has this part: a single master's output is as it was.
      if (stats.masters !== undefined) process.stdout.write(`\n${mastersText(stats.masters)}`);
    });
  });

  withClientFlags(program.command('workers').description('workers with tags, load, health, version and uptime')).action(async (flags: GlobalFlags) => {
    await withClient(flags, async (client) => {
      const { workers } = await client.stats();
      if (flags.json) return printJson(workers);
      const rows = workers.map((w) => [
        w.id,
        workerTags(w.tags),
        `${w.running}/${w.slots}`,
        `${Math.round(w.load * 100)}%`,
        w.health,
        w.version,
        duration(w.uptimeMs),
        `${Math.round(w.lastSeenMsAgo / 1000)}s ago`,
        w.spawnedBy ?? '-',
      ]);
      process.stdout.write(`${table(['WORKER', 'TAGS', 'RUNNING', 'LOAD', 'HEALTH', 'VERSION', 'UPTIME', 'LAST SEEN', 'SPAWNED BY'], rows)}\n`);
    });
  });

  withClientFlags(
    program.command('shutdown').description('drain one worker (running jobs finish or are handed back) and stop it').argument('<worker-id>'),
  ).action(async (workerId: string, flags: GlobalFlags) => {
    await withClient(flags, async (client) => {
      await client.shutdownWorker(workerId);
      if (flags.json) printJson({ workerId, draining: true });
      else process.stdout.write(`worker ${workerId} is draining and will stop\n`);
    });
  });

  withClientFlags(program.command('jobs').description('recent jobs, newest first'))
    .option('--state <list>', 'only these states, comma separated')
    .option('--limit <n>', 'how many', '30')
    .action(async (flags: GlobalFlags & { state?: string; limit: string }) => {
      await withClient(flags, async (client) => {
        const states = parseStates(flags.state);
        const jobs = await client.list({ limit: Number(flags.limit), ...(states !== undefined ? { states } : {}) });
        if (flags.json) return printJson(jobs);
        // WHY: an oom, a timeout or a job that fits no worker reads at a glance.
        const why = (j: (typeof jobs)[number]): string =>
          j.state === 'succeeded' || j.reason === null ? '' : j.reason.length > 90 ? `${j.reason.slice(0, 89)}…` : j.reason;
        const rows = jobs.map((j) => [
          j.id,
          j.name.slice(0, 32),
          j.state,
          String(j.attempt),
          j.workerId ?? '-',
          j.exitCode === null ? '-' : String(j.exitCode),
          duration(jobRuntime(j)),
          why(j),
        ]);
        process.stdout.write(`${table(['ID', 'NAME', 'STATE', 'ATTEMPT', 'WORKER', 'EXIT', 'TIME', 'WHY'], rows)}\n`);
      });
    });

  withClientFlags(program.command('status').description('one job in detail').argument('<job-id>')).action(async (jobId: string, flags: GlobalFlags) => {
    await withClient(flags, async (client) => {
      const job = await client.status(jobId);
      if (flags.json) printJson(job);
      else process.stdout.write(`${describeOutcome(job)}\n`);
    });
  });

  withClientFlags(program.command('logs').description("a job's output").argument('<job-id>'))
    .option('-f, --follow', 'keep printing until the job ends')
    .action(async (jobId: string, flags: GlobalFlags & { follow?: boolean }) => {
      await withClient(flags, async (client) => {
        await client.logs(
          jobId,
          (lines) => {
            for (const l of lines) {
              if (flags.json) process.stdout.write(`${JSON.stringify(l)}\n`);
              else (l.stream === 'stderr' ? process.stderr : process.stdout).write(`${l.line}\n`);
            }
          },
          { follow: flags.follow === true },
        );
      });
    });

  withClientFlags(
    program.command('cancel').description('cancel a job or a whole DAG run (kills what runs, skips the rest)').argument('<job-id|dag-id>'),
  ).action(async (jobId: string, flags: GlobalFlags) => {
    await withClient(flags, async (client) => {
      const dag = await client.dagStatus(jobId).catch(() => undefined);
      if (dag !== undefined) {
        const cancelled = await client.cancelDag(jobId);
        if (flags.json) printJson(cancelled);
        else process.stdout.write(`DAG ${jobId} ${cancelled.dag.state}\n`);
        return;
      }
      const job = await client.cancel(jobId);
      if (flags.json) printJson(job);
      else process.stdout.write(`${describeOutcome(job)}\n`);
      process.exitCode = job.state === 'cancelled' ? Exit.OK : Exit.JOB_FAILED;
    });
  });
}
