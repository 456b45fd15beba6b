import type { MisfirePolicy, OverlapPolicy } from '../core/schedule.js';
import type { DagJobRequest } from '../protocol/messages.js';
import { Opcode } from '../protocol/opcodes.js';
import type { Requester } from './lazy-peer.js';
import type { ScheduleListReply, ScheduleReply, ScheduleView } from '../protocol/schedule-views.js';
import type { Uploader } from './pipeline-submit.js';

export type { ScheduleView } from '../protocol/schedule-views.js';

export interface ScheduleOptions {
  /** 5 fields (minute hour day month weekday) or 6 (second first), e.g. "*\/5 * * * *". */
  readonly cron: string;
  /** IANA time zone the expression is read in (e.g. "Europe/Paris"); the master's local zone when left out. */
  readonly tz?: string;
  /** When a due time comes while the previous run still goes: skip it (default), allow a second run, or queue it. */
  readonly overlap?: OverlapPolicy;
  /** Due times missed while the master was down: skip them (default), or run once for them. */
  readonly misfire?: MisfirePolicy;
}

/**
 * Cron schedules of DAG runs, kept by the master (they survive its restarts). Get one from
 * `TitanClient.schedules`; it shares the client's connection.
 *
 * @example
 * const { id } = await titan.schedules.add('etl.yaml', { cron: '0 2 * * *', tz: 'Europe/Paris' });
 * await titan.schedules.pause(id);
 */
export class ScheduleClient {
  constructor(
    private readonly peer: Requester,
    private readonly uploader: Uploader,
  ) {}

  /**
   * Schedules a YAML pipeline (its scripts uploaded now, once) or a DAG given as { name, jobs }.
   * A bad cron expression or time zone is refused with the reason and an example.
   *
   * @example
   * await titan.schedules.add({ name: 'ping', jobs: [{ key: 'p', run: { kind: 'command', command: 'curl -fsS https://example.com' } }] }, { cron: '*\/10 * * * * *' });
   */
  async add(pipeline: string | { name: string; jobs: readonly DagJobRequest[] }, options: ScheduleOptions): Promise<ScheduleView> {
    const schedule = {
      cron: options.cron,
      ...(options.tz !== undefined ? { tz: options.tz } : {}),
      ...(options.overlap !== undefined ? { overlap: options.overlap } : {}),
      ...(options.misfire !== undefined ? { misfire: options.misfire } : {}),
    };
    // A pipeline file is parsed by the master (PIPELINE_SUBMIT with a schedule), its scripts uploaded now, once.
    const reply =
      typeof pipeline === 'string'
        ? await (await import('./pipeline-submit.js')).sendPipeline(this.peer, this.uploader, pipeline, { schedule })
        : await this.peer.request(Opcode.SCHEDULE_ADD, { name: pipeline.name, jobs: pipeline.jobs, ...schedule });
    return (reply as ScheduleReply).schedule;
  }

  /** Every schedule, oldest first, with when it fires next. */
  async list(): Promise<ScheduleView[]> {
    return ((await this.peer.request(Opcode.SCHEDULE_LIST, {})) as ScheduleListReply).schedules;
  }

  /** Deletes a schedule; runs it already started go on. */
  async remove(id: string): Promise<void> {
    await this.peer.request(Opcode.SCHEDULE_REMOVE, { id });
  }

  /** Stops firing until resumed (due times passed while paused are not made up). */
  async pause(id: string): Promise<ScheduleView> {
    return ((await this.peer.request(Opcode.SCHEDULE_PAUSE, { id })) as ScheduleReply).schedule;
  }

  async resume(id: string): Promise<ScheduleView> {
    return ((await this.peer.request(Opcode.SCHEDULE_RESUME, { id })) as ScheduleReply).schedule;
  }
}
