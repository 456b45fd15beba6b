import { Opcode } from '../protocol/opcodes.js';
import { JobRef } from '../protocol/messages.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';
import type { ServiceView } from '../protocol/views.js';
import { jobView } from './find-job.js';
import type { Master } from './master.js';
import { parseBody } from '../protocol/parse-body.js';
import type { ClientContext } from './client-context.js';
import { replyWhenDurable } from './durable-reply.js';

export type ServiceHost = Pick<Master, 'reads' | 'commands' | 'services'>;

/** The services this caller may see (a namespaced token: its namespace's only). */
function listServices(master: ServiceHost, caller: ClientContext): ServiceView[] {
  const now = Date.now();
  const out: ServiceView[] = [];
  for (const job of master.reads.activeJobs()) {
    if (job.spec.service === undefined || !caller.sees(job.id)) continue;
    const reported = master.services.get(job.id);
    // What a previous worker reported is not where a service placed again answers.
    const endpoint = reported?.workerId === job.workerId ? reported : undefined;
    out.push({
      id: job.id,
      name: job.spec.name,
      state: job.state,
      workerId: job.workerId,
      host: endpoint?.host ?? null,
      port: endpoint?.port ?? null,
      pid: endpoint !== undefined && endpoint.pid > 0 ? endpoint.pid : null,
      restarts: endpoint?.restarts ?? 0,
      ready: endpoint?.readyAt !== null && endpoint !== undefined,
      // A restarted process's uptime starts again with it.
      uptimeMs: endpoint?.restartedAt != null ? now - endpoint.restartedAt : job.startedAt !== null ? now - job.startedAt : null,
    });
  }
  return out;
}

/** Services: list, stop, restart. Returns false when the opcode is not one of them. */
export function handleServiceMessage(master: ServiceHost, caller: ClientContext, msg: IncomingMessage, reply: Replier): boolean {
  switch (msg.opcode) {
    case Opcode.SERVICE_LIST:
      reply.ok({ services: listServices(master, caller) });
      return true;
    case Opcode.SERVICE_STOP: {
      const { jobId } = parseBody(JobRef, msg);
      replyWhenDurable(reply, master.commands.applyAndWait(master.commands.stopService(jobId, Date.now())), () => jobView(master, jobId));
      return true;
    }
    case Opcode.SERVICE_RESTART: {
      const { jobId } = parseBody(JobRef, msg);
      master.services.forget(jobId);
      replyWhenDurable(reply, master.commands.applyAndWait(master.commands.restartService(jobId, Date.now())), () => jobView(master, jobId));
      return true;
    }
    default:
      return false;
  }
}
