import { randomBytes } from 'node:crypto';
import { TitanError, ErrorCode } from '../common/errors.js';
import type { Effect } from '../core/effects.js';
import { isFinal } from '../core/job.js';
import { Opcode, opcodeName } from '../protocol/opcodes.js';
import { ApprovalDecision, DagAddJobsRequest, DagListRequest, DagRef, DagSubmitRequest, DagWaitRequest, JobRef } from '../protocol/messages.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';
import { replyWhenDurable } from './durable-reply.js';
import { dagStatus, planDagJobs, submitPlanned, toDagView } from './dag-handlers.js';
import { approvalTarget, decideKvGate, listApprovals } from './approvals.js';
import { activeJobIds, jobView } from './find-job.js';
import type { Master } from './master.js';
import { bothDelayAndAt, parseBody } from '../protocol/parse-body.js';
import { ownerOf } from '../security/policy.js';
import type { ClientContext } from './client-context.js';
import type { ApprovalHost } from './approvals.js';
import type { DagHost } from './dag-handlers.js';

/** What DAG runs, retries, approvals and job history use. */
export type DagRequestHost = DagHost & ApprovalHost & Pick<Master, 'security' | 'watchers' | 'log'>;

/** DAG runs, retries and job history: the client opcodes beyond single jobs. Returns false when the opcode is not one of them. */
export function handleDagMessage(master: DagRequestHost, session: ClientContext, msg: IncomingMessage, reply: Replier): boolean {
  switch (msg.opcode) {
    case Opcode.DAG_SUBMIT: {
      const req = parseBody(DagSubmitRequest, msg);
      master.commands.refuseWhenStoreFull();
      if (session.identity !== null) master.security.checkQuota(session.identity, req.jobs.length, activeJobIds(master));
      const dagId = `${session.idPrefix}d${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
      if (req.runAt !== undefined && req.delaySeconds !== undefined && req.delaySeconds > 0) throw bothDelayAndAt('delaySeconds', 'runAt');
      const held = Math.max(req.runAt ?? 0, req.delaySeconds !== undefined && req.delaySeconds > 0 ? Date.now() + Math.round(req.delaySeconds * 1000) : 0);
      const runAt = held > 0 ? held : undefined;
      // The run's own time holds every job; a job's run_at can only hold it later still.
      const jobs = runAt === undefined ? req.jobs : req.jobs.map((j) => ({ ...j, runAt: Math.max(runAt, j.runAt ?? 0) }));
      const planned = planDagJobs(master, dagId, jobs);
      const effects: Effect[] = master.commands.createDag(dagId, req.name, Date.now());
      const jobIds = submitPlanned(master, planned, effects, ownerOf(session.identity));
      replyWhenDurable(reply, master.commands.applyAcknowledged(effects), () => ({ dagId, jobIds }));
      return true;
    }
    case Opcode.DAG_ADD_JOBS: {
      const req = parseBody(DagAddJobsRequest, msg);
      master.commands.refuseWhenStoreFull();
      if (session.identity !== null) master.security.checkQuota(session.identity, req.jobs.length, activeJobIds(master));
      if (master.reads.dag(req.dagId) === undefined)
        throw new TitanError(ErrorCode.INVALID_REQUEST, `DAG ${req.dagId} is not running; jobs can only be added while it runs`);
      const effects: Effect[] = [];
      const jobIds = submitPlanned(master, planDagJobs(master, req.dagId, req.jobs), effects, ownerOf(session.identity));
      replyWhenDurable(reply, master.commands.applyAcknowledged(effects), () => ({ dagId: req.dagId, jobIds }));
      return true;
    }
    case Opcode.DAG_STATUS:
      reply.ok(dagStatus(master, parseBody(DagRef, msg).dagId));
      return true;
    case Opcode.DAG_LIST: {
      const { limit } = parseBody(DagListRequest, msg);
      reply.ok({ dags: master.reads.listDags(limit, session.idPrefix).map((d) => toDagView(master.reads.dag(d.id) ?? d)) });
      return true;
    }
    case Opcode.DAG_CANCEL: {
      const { dagId } = parseBody(DagRef, msg);
      replyWhenDurable(reply, master.commands.applyAndWait(master.commands.cancelDag(dagId, Date.now())), () => dagStatus(master, dagId));
      return true;
    }
    case Opcode.DAG_WAIT: {
      const req = parseBody(DagWaitRequest, msg);
      const status = dagStatus(master, req.dagId);
      if (status.dag.state !== 'running') {
        reply.ok(status);
        return true;
      }
      let timer: NodeJS.Timeout | undefined;
      const stop = master.watchers.onDagFinished(req.dagId, () => {
        if (timer !== undefined) clearTimeout(timer);
        cancelCleanup();
        reply.ok(dagStatus(master, req.dagId));
      });
      const cancelCleanup = session.onClose(stop);
      if (req.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          stop();
          cancelCleanup();
          reply.ok(dagStatus(master, req.dagId));
        }, req.timeoutMs);
        timer.unref();
      }
      return true;
    }
    case Opcode.JOB_RETRY: {
      const { jobId } = parseBody(JobRef, msg);
      master.commands.refuseWhenStoreFull();
      if (master.reads.job(jobId) !== undefined)
        throw new TitanError(ErrorCode.INVALID_REQUEST, `job ${jobId} is still active; only a finished job can be retried`);
      const stored = master.reads.getJob(jobId);
      if (stored === undefined) throw new TitanError(ErrorCode.UNKNOWN_JOB, `no job ${jobId}: list dead jobs with \`titan dlq\``);
      const dag = stored.spec.dagId !== undefined ? master.reads.getDag(stored.spec.dagId) : undefined;
      // A retried job is unfinished again: it counts against the quota like a new submission.
      if (session.identity !== null) master.security.checkQuota(session.identity, 1, activeJobIds(master));
      replyWhenDurable(reply, master.commands.applyAcknowledged(master.commands.retry(stored, dag, Date.now())), () => jobView(master, jobId));
      return true;
    }
    case Opcode.JOB_APPROVE:
    case Opcode.JOB_REJECT: {
      const req = parseBody(ApprovalDecision, msg);
      // An API token names its holder, so its name is the approver; a `by` it sends is kept beside it, never instead.
      const holder = session.identity?.kind === 'token' ? session.identity.name : undefined;
      const claimed = req.by ?? `a client at ${session.remoteAddress}`;
      const by = holder === undefined ? claimed : req.by === undefined || req.by === holder ? holder : `${holder} (as ${req.by})`;
      const now = Date.now();
      const approve = msg.opcode === Opcode.JOB_APPROVE;
      if (req.gateId !== undefined) {
        const decided = decideKvGate(master, req.gateId, approve, by, now);
        master.log.info({ gate: decided.ref, by, decision: decided.status, reason: req.reason }, 'approval decision');
        reply.ok(decided);
        return true;
      }
      const jobId = approvalTarget(master, req.jobId ?? '');
      const effects = approve ? master.commands.approve(jobId, by, now) : master.commands.reject(jobId, by, req.reason, now);
      master.log.info({ jobId, by, decision: approve ? 'approved' : 'rejected' }, 'approval decision');
      replyWhenDurable(reply, master.commands.applyAndWait(effects), () => jobView(master, jobId));
      return true;
    }
    case Opcode.APPROVAL_LIST:
      reply.ok({ approvals: listApprovals(master, session, Date.now()) });
      return true;
    case Opcode.JOB_HISTORY: {
      const { jobId } = parseBody(JobRef, msg);
      const view = jobView(master, jobId);
      reply.ok({ job: view, events: master.reads.jobEvents(jobId).map(({ jobId: _id, ...event }) => event), final: isFinal(view.state) });
      return true;
    }
    default:
      void opcodeName;
      return false;
  }
}
