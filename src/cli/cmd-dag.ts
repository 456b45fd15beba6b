import type { Command } from 'commander';
import { TitanError, ErrorCode } from '../common/errors.js';
import type { DagStatusView } from '../protocol/views.js';
import type { TitanClient } from '../sdk/client.js';
import { printJson, withClient, withClientFlags, type GlobalFlags } from './client-command.js';
import { Exit } from './exit-codes.js';
import { duration, jobRuntime, table } from './format.js';
import { timingFrom } from './cmd-run.js';
import { followDag, progressMode } from './follow.js';
import { countJobs, summaryLine } from './progress.js';

interface DagFlags extends GlobalFlags {
  wait?: boolean;
  delay?: string;
  at?: string;
}

/** The run's first line, counted from its jobs (the truth even when on_failure handled a failure or the run was cancelled). */
function header(status: DagStatusView): string {
  const { dag } = status;
  const c = countJobs(status.jobs);
  const handled = dag.state === 'succeeded' && c.failed > 0 ? ' and handled (on_failure / trigger_rule)' : '';
  const more = [c.cancelled > 0 ? `${c.cancelled} cancelled` : '', c.skipped > 0 ? `${c.skipped} skipped` : ''].filter((p) => p !== '');
  const final = c.total - c.running - c.queued;
  return `DAG ${dag.id} "${dag.name}": ${dag.state} (${final}/${c.total} jobs final, ${c.failed} failed${handled}${more.map((p) => `, ${p}`).join('')})\n`;
}

function jobRows(jobs: DagStatusView['jobs']): string[][] {
  return jobs.map((j) => [
    j.key,
    j.state,
    String(j.attempt),
    j.workerId ?? '-',
    duration(jobRuntime(j)),
    j.parents.join(',') || '-',
    j.state === 'succeeded' ? '' : (j.reason ?? ''),
  ]);
}

const JOB_HEADERS = ['JOB', 'STATE', 'ATTEMPT', 'WORKER', 'TIME', 'PARENTS', 'WHY'];

/** `dag status` and `dag cancel`: every job of the run. */
function printDag(status: DagStatusView): void {
  process.stdout.write(header(status));
  process.stdout.write(`${table(JOB_HEADERS, jobRows(status.jobs))}\n`);
}

/** The end of `dag --wait`: the counts, and only the jobs that did not succeed (at most a screenful). */
const SUMMARY_ROWS = 20;
function printDagSummary(status: DagStatusView, elapsedMs: number): void {
  process.stdout.write(header(status));
  process.stdout.write(`${summaryLine(countJobs(status.jobs), elapsedMs)}\n`);
  const notSucceeded = status.jobs.filter((j) => j.state !== 'succeeded');
  if (notSucceeded.length === 0) return;
  process.stdout.write(`${table(JOB_HEADERS, jobRows(notSucceeded.slice(0, SUMMARY_ROWS)))}\n`);
  const more = notSucceeded.length - SUMMARY_ROWS;
  if (more > 0) process.stdout.write(`… and ${more} more: titan dag status ${status.dag.id}\n`);
}

async function runPipeline(client: TitanClient, file: string, flags: DagFlags): Promise<number> {
  const { dagId, jobIds } = await client.submitPipeline(file, timingFrom(flags));
  if (!flags.wait) {
    if (flags.json) printJson({ dagId, jobIds });
    else process.stdout.write(`${dagId}\n`);
    return Exit.OK;
  }
  if (!flags.json) process.stderr.write(`DAG ${dagId} submitted with ${jobIds.length} job(s)\n`);
  const started = Date.now();
  const final = await followDag(client, dagId, progressMode(flags.json));
  if (flags.json) printJson(final);
  else printDagSummary(final, Date.now() - started);
  return final.dag.state === 'succeeded' ? Exit.OK : Exit.JOB_FAILED;
}

export function registerDag(program: Command): void {
  withClientFlags(
    program
      .command('dag')
      .description('run a YAML pipeline (`titan dag pipeline.yaml`), or: dag add <dag-id> <file> | dag status <dag-id> | dag cancel <dag-id>')
      .argument('<pipeline|verb>', 'a pipeline file, or add / status / cancel')
      .argument('[args...]', "the verb's arguments")
      .option('--delay <duration>', 'start the run this long after it is accepted: 30s, 5m, 2h')
      .option('--at <time>', 'start the run at this time: ISO 8601 with a zone (or run_at: in the file)')
      .option('--wait', 'follow the run and exit with its outcome'),
  ).action(async (first: string, rest: string[], flags: DagFlags) => {
    process.exitCode = await withClient(flags, async (client) => {
      const need = (n: number, usage: string): void => {
        if (rest.length !== n) throw new TitanError(ErrorCode.INVALID_REQUEST, `usage: titan dag ${usage}`);
      };
      switch (first) {
        case 'add': {
          need(2, 'add <dag-id> <file.yaml>');
          const added = await client.addPipeline(rest[0]!, rest[1]!);
          if (flags.json) printJson(added);
          else process.stdout.write(`added ${added.jobIds.length} job(s) to ${added.dagId}\n`);
          return Exit.OK;
        }
        case 'status': {
          need(1, 'status <dag-id>');
          const status = await client.dagStatus(rest[0]!);
          if (flags.json) printJson(status);
          else printDag(status);
          return Exit.OK;
        }
        case 'cancel': {
          need(1, 'cancel <dag-id>');
          const status = await client.cancelDag(rest[0]!);
          if (flags.json) printJson(status);
          else printDag(status);
          return Exit.OK;
        }
        default:
          need(0, '<pipeline.yaml> [--wait]');
          return runPipeline(client, first, flags);
      }
    });
  });

  withClientFlags(program.command('dags').description('recent DAG runs, newest first'))
    .option('--limit <n>', 'how many', '30')
    .action(async (flags: GlobalFlags & { limit: string }) => {
      await withClient(flags, async (client) => {
        const dags = await client.listDags(Number(flags.limit));
        if (flags.json) return printJson(dags);
        const rows = dags.map((d) => [
          d.id,
          d.name,
          d.state,
          `${d.total - d.unfinished}/${d.total}`,
          String(d.failed),
          duration((d.finishedAt ?? Date.now()) - d.createdAt),
        ]);
        process.stdout.write(`${table(['DAG', 'NAME', 'STATE', 'DONE', 'FAILED', 'TIME'], rows)}\n`);
      });
    });
}
