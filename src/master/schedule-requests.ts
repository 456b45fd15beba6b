import { Opcode } from '../protocol/opcodes.js';
import {
  ScheduleAddRequest,
  ScheduleListRequest,
  ScheduleRef,
  type ScheduleListReply,
  type ScheduleRemoveReply,
  type ScheduleReply,
} from '../protocol/schedule-messages.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';
import type { Master } from './master.js';
import { parseBody } from '../protocol/parse-body.js';
import { replyWhenDurable } from './durable-reply.js';

export type ScheduleRequestHost = Pick<Master, 'schedules'>;

/** Cron schedules of DAG runs (`titan schedule …`). Returns false when the opcode is not one of these. */
export function handleScheduleMessage(master: ScheduleRequestHost, msg: IncomingMessage, reply: Replier): boolean {
  switch (msg.opcode) {
    case Opcode.SCHEDULE_ADD:
      replyWhenDurable(reply, master.schedules.add(parseBody(ScheduleAddRequest, msg)), (schedule) => ({ schedule }) satisfies ScheduleReply);
      return true;
    case Opcode.SCHEDULE_LIST:
      parseBody(ScheduleListRequest, msg);
      reply.ok({ schedules: master.schedules.list() } satisfies ScheduleListReply);
      return true;
    case Opcode.SCHEDULE_REMOVE:
      replyWhenDurable(reply, master.schedules.remove(parseBody(ScheduleRef, msg).id), () => ({ removed: true }) satisfies ScheduleRemoveReply);
      return true;
    case Opcode.SCHEDULE_PAUSE:
      replyWhenDurable(reply, master.schedules.pause(parseBody(ScheduleRef, msg).id), (schedule) => ({ schedule }) satisfies ScheduleReply);
      return true;
    case Opcode.SCHEDULE_RESUME:
      replyWhenDurable(reply, master.schedules.resume(parseBody(ScheduleRef, msg).id), (schedule) => ({ schedule }) satisfies ScheduleReply);
      return true;
    default:
      return false;
  }
}
