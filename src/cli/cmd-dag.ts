import type { Command } from 'commander';
import { TitanError, ErrorCode } from '../common/errors.js';
import type { DagStatusView } from '../protocol/views.js';
import type { TitanClient } from '../sdk/client.js';
import { printJson, withClient, withClientFlags, type GlobalFlags } from './client-command.js';
import { Exit } from './exit-codes.js';
import { duration, jobRuntime, table } from './format.js';
import { timingFrom } from './cmd-run.js';

interface DagFlags extends GlobalFlags {
  wait?: boolean;
  delay?: string;
  at?: string;
}

function printDag(status: DagStatusView): void {
  const { dag } = status;
  process.stdout.write(`DAG ${dag.id} "${dag.name}": ${dag.state} (${dag.total - dag.unfinished}/${dag.total} jobs final, ${dag.failed} failed)\n`);
  const rows = status.jobs.map((j) => [j.key, j.state, String(j.attempt), j.workerId ?? '-', duration(jobRuntime(j)), j.parents.join(',') || '-', j.state === 'succeeded' ? '' : (j.reason ?? '')]);
  process.stdout.write(`${table(['JOB', 'STATE', 'ATTEMPT', 'WORKER', 'TIME', 'PARENTS', 'WHY'], rows)}\n`);
}

/** Prints each job's state changes while the DAG runs; resolves with the final status. */
async function followDag(client: TitanClient, dagId: string, quiet: boolean): Promise<DagStatusView> {
  const seen = new Map<string, string>();
  const report = (status: DagStatusView): void => {
    for (const job of status.jobs) {
      const line = `${job.state}${job.workerId !== null && job.state !== 'pending' ? ` on ${job.workerId}` : ''}`;
      if (seen.get(job.key) !== line && !quiet) process.stderr.write(`… ${job.key}: ${line}${job.state === 'queued' && job.reason !== null ? ` (${job.reason})` : ''}\n`);
      seen.set(job.key, line);
    }
  };
  const timer = setInterval(() => void client.dagStatus(dagId).then(report, () => undefined), 500);
  try {
    const final = await client.waitDag(dagId);
    report(final);
    return final;
  } finally {
    clearInterval(timer);
  }
}

async function runPipeline(client: TitanClient, file: string, flags: DagFlags): Promise<number> {
  const { dagId, jobIds } = await client.submitPipeline(file, timingFrom(flags));
  if (!flags.wait) {
    if (flags.json) printJson({ dagId, jobIds });
    else process.stdout.write(`${dagId}\n`);
    return Exit.OK;
  }
  if (!flags.json) process.stderr.write(`DAG ${dagId} submitted with ${jobIds.length} job(s)\n`);
  const final = await followDag(client, dagId, flags.json === true);
  if (flags.json) printJson(final);
  else printDag(final);
  return final.dag.state === 'succeeded' ? Exit.OK : Exit.JOB_FAILED;
}

export function registerDag(program: Command): void {
  withClientFlags(
    program
      .command('dag')
      .description('run a YAML pipeline (`titan dag pipeline.yaml`), or: dag add <dag-id> <file> | dag status <dag-id> | dag cancel <dag-id>')
      .argument('<pipeline|verb>', 'a pipeline file, or add / status / cancel')
      .argument('[args...]', 'the verb\'s arguments')
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
        const rows = dags.map((d) => [d.id, d.name, d.state, `${d.total - d.unfinished}/${d.total}`, String(d.failed), duration((d.finishedAt ?? Date.now()) - d.createdAt)]);
        process.stdout.write(`${table(['DAG', 'NAME', 'STATE', 'DONE', 'FAILED', 'TIME'], rows)}\n`);
      });
    });
}
