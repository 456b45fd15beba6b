import type { Command } from 'commander';
import { TitanError, ErrorCode } from '../common/errors.js';
import { MISFIRE_POLICIES, OVERLAP_POLICIES, type MisfirePolicy, type OverlapPolicy } from '../core/schedule.js';
import type { ScheduleView } from '../sdk/schedules.js';
import type { TitanClient } from '../sdk/client.js';
import type { DagJobRequest } from '../protocol/messages.js';
import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { parseTags } from './settings.js';
import { printJson, withClient, withClientFlags, type GlobalFlags } from './client-command.js';
import { Exit } from './exit-codes.js';
import { table } from './format.js';

interface ScheduleFlags extends GlobalFlags {
  cron?: string;
  tz?: string;
  overlap: string;
  misfire: string;
  name?: string;
  requirement?: string;
}

/**
 * A cron on one job: a script (uploaded once; every run uses that copy) or a command line,
 * scheduled as a pipeline of that one job. A `.yaml`/`.yml` path is a pipeline file as it is.
 */
async function scheduledTarget(client: TitanClient, target: string, flags: ScheduleFlags): Promise<string | { name: string; jobs: DagJobRequest[] }> {
  if (/\.ya?ml$/i.test(target)) return target;
  const isFile = existsSync(target) && statSync(target).isFile();
  const run: DagJobRequest['run'] = isFile
    ? { kind: 'script', fileName: basename(target), artifact: await client.uploadFile(target) }
    : { kind: 'command', command: target };
  const name = flags.name ?? (isFile ? basename(target) : target.slice(0, 80));
  return { name, jobs: [{ key: 'job', name, run, requirement: parseTags(flags.requirement) }] };
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new TitanError(ErrorCode.INVALID_REQUEST, `${flag} expects ${allowed.join(' | ')}, got "${value}"`);
}

const when = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString());

function printSchedules(schedules: readonly ScheduleView[]): void {
  const rows = schedules.map((s) => [
    s.id,
    s.name,
    s.cron,
    s.tz ?? 'local',
    s.paused ? 'paused' : 'active',
    s.overlap,
    s.misfire,
    when(s.nextDueAt),
    when(s.lastDueAt),
    s.lastDagId ?? '-',
  ]);
  process.stdout.write(`${table(['ID', 'NAME', 'CRON', 'TZ', 'STATE', 'OVERLAP', 'MISFIRE', 'NEXT', 'LAST', 'LAST DAG'], rows)}\n`);
}

/** titan schedule add|ls|rm|pause|resume: cron schedules of YAML pipelines, kept by the master. */
export function registerSchedule(program: Command): void {
  withClientFlags(
    program
      .command('schedule')
      .description(
        'run a pipeline, a script or a command on a cron schedule: schedule add <pipeline.yaml|script|command> --cron "<expr>" | ls | rm <id> | pause <id> | resume <id>',
      )
      .argument('<verb>', 'add, ls, rm, pause or resume')
      .argument('[args...]', "the verb's arguments")
      .option('--cron <expr>', 'cron expression: 5 fields (minute hour day month weekday) or 6 (second first), e.g. "*/5 * * * *"')
      .option('--tz <zone>', "IANA time zone the expression is read in, e.g. Europe/Paris (default: the master's local zone)")
      .option('--overlap <policy>', 'when the previous run still goes: skip | allow | queue', 'skip')
      .option('--misfire <policy>', 'due times missed while the master was down: skip | run_once', 'skip')
      .option('--name <name>', "for a script or command: the schedule's name (default: the file or command)")
      .option('--requirement <tags>', 'for a script or command: tags the worker must have'),
  ).action(async (verb: string, rest: string[], flags: ScheduleFlags) => {
    const need = (n: number, usage: string): void => {
      if (rest.length !== n) throw new TitanError(ErrorCode.INVALID_REQUEST, `usage: titan schedule ${usage}`);
    };
    process.exitCode = await withClient(flags, async (client) => {
      switch (verb) {
        case 'add': {
          need(1, 'add <pipeline.yaml|script|\'command\'> --cron "<expr>" [--tz <zone>] [--overlap skip|allow|queue] [--misfire skip|run_once]');
          if (flags.cron === undefined)
            throw new TitanError(ErrorCode.INVALID_REQUEST, 'schedule add needs --cron, e.g. --cron "*/5 * * * *" (every 5 minutes)');
          const schedule = await client.schedules.add(await scheduledTarget(client, rest[0]!, flags), {
            cron: flags.cron,
            overlap: oneOf<OverlapPolicy>('--overlap', flags.overlap, OVERLAP_POLICIES),
            misfire: oneOf<MisfirePolicy>('--misfire', flags.misfire, MISFIRE_POLICIES),
            ...(flags.tz !== undefined ? { tz: flags.tz } : {}),
          });
          if (flags.json) printJson(schedule);
          else process.stdout.write(`${schedule.id}\n`);
          return Exit.OK;
        }
        case 'ls':
        case 'list': {
          need(0, 'ls');
          const schedules = await client.schedules.list();
          if (flags.json) printJson(schedules);
          else printSchedules(schedules);
          return Exit.OK;
        }
        case 'rm':
        case 'remove':
          need(1, 'rm <schedule-id>');
          await client.schedules.remove(rest[0]!);
          if (flags.json) printJson({ removed: rest[0] });
          else process.stdout.write(`removed ${rest[0]}\n`);
          return Exit.OK;
        case 'pause':
        case 'resume': {
          need(1, `${verb} <schedule-id>`);
          const schedule = verb === 'pause' ? await client.schedules.pause(rest[0]!) : await client.schedules.resume(rest[0]!);
          if (flags.json) printJson(schedule);
          else printSchedules([schedule]);
          return Exit.OK;
        }
        default:
          throw new TitanError(ErrorCode.INVALID_REQUEST, `unknown verb "${verb}": use titan schedule add | ls | rm | pause | resume`);
      }
    });
  });
}
