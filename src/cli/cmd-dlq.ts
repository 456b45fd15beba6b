import type { Command } from 'commander';
import { printJson, withClient, withClientFlags, type GlobalFlags } from './client-command.js';
import { isGateDecision } from '../sdk/approvals.js';
import { describeOutcome, duration, retryLine, table } from './format.js';

/** The dead-letter queue and the way back (retry), and approval decisions: the commands a person steers jobs with. */
export function registerDlq(program: Command): void {
  withClientFlags(
    program
      .command('dlq')
      .description('dead jobs (retries used up, or poison pills); `titan dlq show <job-id>` for one')
      .argument('[verb]', 'show')
      .argument('[job-id]')
      .option('--limit <n>', 'how many', '50'),
  ).action(async (verb: string | undefined, jobId: string | undefined, flags: GlobalFlags & { limit: string }) => {
    await withClient(flags, async (client) => {
      if (verb === 'show' && jobId !== undefined) {
        const history = await client.history(jobId);
        const lines: string[] = [];
        await client.logs(jobId, (batch) => lines.push(...batch.map((l) => `[attempt ${l.attempt} ${l.stream}] ${l.line}`)));
        if (flags.json) return printJson({ ...history, logs: lines });
        process.stdout.write(`${describeOutcome(history.job)}\n\nhistory:\n`);
        for (const e of history.events) {
          process.stdout.write(
            `  ${new Date(e.at).toISOString()}  ${e.from ?? '-'} → ${e.to}  attempt ${e.attempt}${e.workerId !== null ? ` on ${e.workerId}` : ''}${e.detail !== null ? `: ${e.detail}` : ''}\n`,
          );
        }
        process.stdout.write(
          `\nlast output:\n${lines
            .slice(-40)
            .map((l) => `  ${l}`)
            .join('\n')}\n`,
        );
        return;
      }
      const dead = await client.list({ states: ['dead'], limit: Number(flags.limit) });
      if (flags.json) return printJson(dead);
      const rows = dead.map((j) => [j.id, j.name.slice(0, 32), String(j.attempt), j.reason ?? '']);
      process.stdout.write(`${table(['ID', 'NAME', 'ATTEMPTS', 'WHY'], rows)}\n`);
      if (dead.length > 0) process.stdout.write('\n`titan dlq show <id>` for history and output, `titan retry <id>` to run it again\n');
    });
  });

  withClientFlags(
    program.command('approvals').description('what waits for a decision: jobs awaiting approval and original-SDK gates (hitl:<id>), oldest first'),
  ).action(async (flags: GlobalFlags) => {
    await withClient(flags, async (client) => {
      const pending = await client.approvals.list();
      if (flags.json) return printJson(pending);
      const expires = (at: number | null): string => (at === null ? '-' : `in ${duration(Math.max(0, at - Date.now()))}`);
      const rows = pending.map((a) => [a.ref, a.kind, a.ageMs === null ? '?' : duration(a.ageMs), expires(a.expiresAt), a.message.slice(0, 60)]);
      process.stdout.write(`${table(['REF', 'KIND', 'AGE', 'EXPIRES', 'MESSAGE'], rows)}\n`);
      if (pending.length > 0) process.stdout.write('\n`titan approve <ref>` or `titan reject <ref> --reason "..."`\n');
    });
  });

  withClientFlags(
    program
      .command('approve')
      .description('let a job waiting for approval run, or pass a gate (hitl:<id> for an original-SDK gate)')
      .argument('<dag-id/job | hitl:gate-id>'),
  )
    .option('--by <name>', 'who approves (recorded in the job history)', process.env.USER)
    .action(async (ref: string, flags: GlobalFlags & { by?: string }) => {
      await withClient(flags, async (client) => {
        const answer = await client.approvals.approve(ref, flags.by);
        if (flags.json) printJson(answer);
        else
          process.stdout.write(
            isGateDecision(answer) ? `gate ${answer.ref} approved: ${answer.key} is ${answer.status}\n` : `job ${answer.id} approved: ${answer.state}\n`,
          );
      });
    });

  withClientFlags(
    program
      .command('reject')
      .description('fail a job or gate waiting for approval (hitl:<id> for an original-SDK gate)')
      .argument('<dag-id/job | hitl:gate-id>'),
  )
    .option('--reason <text>', 'why (recorded in the job history)', '')
    .option('--by <name>', 'who rejects', process.env.USER)
    .action(async (ref: string, flags: GlobalFlags & { reason: string; by?: string }) => {
      await withClient(flags, async (client) => {
        const answer = await client.approvals.reject(ref, flags.reason, flags.by);
        if (flags.json) printJson(answer);
        else
          process.stdout.write(
            isGateDecision(answer) ? `gate ${answer.ref} rejected: ${answer.key} is ${answer.status}\n` : `job ${answer.id} rejected: ${answer.state}\n`,
          );
      });
    });

  withClientFlags(program.command('retry').description('run a failed, dead, cancelled or skipped job again (resumes its DAG)').argument('<job-id>')).action(
    async (jobId: string, flags: GlobalFlags) => {
      await withClient(flags, async (client) => {
        const job = await client.retry(jobId);
        if (flags.json) printJson(job);
        else process.stdout.write(`${retryLine(job)}\n`);
      });
    },
  );
}
