import { TitanError, ErrorCode } from '../common/errors.js';
import { isFinal } from '../core/job.js';
import { Opcode, opcodeName } from '../protocol/opcodes.js';
import { ApprovalDecision, DagListRequest, DagRef, DagWaitRequest, JobRef } from '../protocol/messages.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';
import type { DagStatusView } from '../protocol/views.js';
import { replyError, replyWhenDurable, replyWhenRead } from './durable-reply.js';
import { dagStatus, toDagView } from './dag-handlers.js';
import { addDagJobs, submitDag } from './dag-admission.js';
import { approvalTarget, decideKvGate, listApprovals } from './approvals.js';
import { activeJobIds, jobView } from './find-job.js';
import type { Master } from './master.js';
import { parseBody } from '../protocol/parse-body.js';
import type { ClientContext } from './client-context.js';
import type { ApprovalHost } from './approvals.js';
import type { DagHost } from './dag-handlers.js';

/** What DAG runs, retries, approvals and job history use. */
export type DagRequestHost = DagHost & ApprovalHost & Pick<Master, 'security' | 'watchers' | 'log'>;

/** DAG runs, retries and job history: the client opcodes beyond single jobs. Returns false when the opcode is not one of them. */
export function handleDagMessage(master: DagRequestHost, session: ClientContext, msg: IncomingMessage, reply: Replier): boolean {
  switch (msg.opcode) {
    case Opcode.DAG_SUBMIT:
      replyWhenDurable(reply, submitDag(master, session, msg), (submitted) => submitted);
      return true;
    case Opcode.DAG_ADD_JOBS:
      replyWhenDurable(reply, addDagJobs(master, session, msg), (added) => added);
      return true;
    case Opcode.DAG_STATUS:
      replyWhenRead(reply, dagStatus(master, parseBody(DagRef, msg).dagId));
      return true;
    case Opcode.DAG_LIST: {
      const { limit } = parseBody(DagListRequest, msg);
      replyWhenRead(
        reply,
        master.reads.listDags(limit, session.idPrefix).then((dags) => ({ dags: dags.map((d) => toDagView(master.reads.dag(d.id) ?? d)) })),
      );
      return true;
    }
    case Opcode.DAG_CANCEL: {
      const { dagId } = parseBody(DagRef, msg);
      replyWhenDurable(reply, master.commands.applyAndWait(master.commands.cancelDag(dagId, Date.now())), () => dagStatus(master, dagId));
      return true;
    }
    case Opcode.DAG_WAIT: {
      const req = parseBody(DagWaitRequest, msg);
      void dagStatus(master, req.dagId).then(
        (status) => waitForDag(master, session, req, status, reply),
        (err: unknown) => replyError(reply, err),
      );
      return true;
    }
    case Opcode.JOB_RETRY: {
      const { jobId } = parseBody(JobRef, msg);
      checkRetry(master, session, jobId);
      replyWhenDurable(reply, retry(master, session, jobId), () => jobView(master, jobId));
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
        const gateId = req.gateId;
        const decision = decideKvGate(master, gateId, approve, by, now).then((decided) => {
          master.log.info({ gate: decided.ref, by, decision: decided.status, reason: req.reason }, 'approval decision');
          return decided;
        });
        replyWhenDurable(reply, decision, (decided) => decided);
        return true;
      }
      const decided = approvalTarget(master, req.jobId ?? '').then(async (jobId) => {
        // Decided by the core after the read: whatever the job's state is now.
        const at = Date.now();
        const effects = approve ? master.commands.approve(jobId, by, at) : master.commands.reject(jobId, by, req.reason, at);
        master.log.info({ jobId, by, decision: approve ? 'approved' : 'rejected' }, 'approval decision');
        await master.commands.applyAndWait(effects);
        return jobId;
      });
      replyWhenDurable(reply, decided, (jobId) => jobView(master, jobId));
      return true;
    }
    case Opcode.APPROVAL_LIST:
      replyWhenRead(
        reply,
        listApprovals(master, session, Date.now()).then((approvals) => ({ approvals })),
      );
      return true;
    case Opcode.JOB_HISTORY: {
      const { jobId } = parseBody(JobRef, msg);
      replyWhenRead(reply, jobHistory(master, jobId));
      return true;
    }
    default:
      void opcodeName;
      return false;
  }
}

/** Answers with the run's status once it is no longer running (or at the timeout). */
function waitForDag(
  master: DagRequestHost,
  session: ClientContext,
  req: { dagId: string; timeoutMs?: number | undefined },
  status: DagStatusView,
  reply: Replier,
): void {
  if (status.dag.state !== 'running') {
    reply.ok(status);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  let answered = false;
  const answer = (final: Promise<DagStatusView>): void => {
    if (answered) return;
    answered = true;
    if (timer !== undefined) clearTimeout(timer);
    stop();
    cancelCleanup();
    replyWhenRead(reply, final);
  };
  const stop = master.watchers.onDagFinished(req.dagId, () => answer(dagStatus(master, req.dagId)));
  const cancelCleanup = session.onClose(stop);
  if (req.timeoutMs !== undefined) {
    timer = setTimeout(() => answer(dagStatus(master, req.dagId)), req.timeoutMs);
    timer.unref();
  }
  // Out of memory yet running when read: its end is being written, or was (its watchers told)
  // before this one was registered. Read after registering, the store says which.
  if (master.reads.dag(req.dagId) === undefined) {
    void dagStatus(master, req.dagId).then(
      (again) => again.dag.state !== 'running' && answer(Promise.resolve(again)),
      () => undefined,
    );
  }
}

/** What refuses a retry at once; checked again once the job is read from the store. */
function checkRetry(master: DagRequestHost, session: ClientContext, jobId: string): void {
  master.commands.refuseWhenStoreFull();
  if (master.reads.job(jobId) !== undefined)
    throw new TitanError(ErrorCode.INVALID_REQUEST, `job ${jobId} is still active; only a finished job can be retried`);
  // A retried job is unfinished again: it counts against the quota like a new submission.
  if (session.identity !== null) master.security.checkQuota(session.identity, 1, activeJobIds(master));
}

async function retry(master: DagRequestHost, session: ClientContext, jobId: string): Promise<void> {
  const stored = await master.reads.getJob(jobId);
  if (stored === undefined) throw new TitanError(ErrorCode.UNKNOWN_JOB, `no job ${jobId}: list dead jobs with \`titan dlq\``);
  const dag = stored.spec.dagId !== undefined ? await master.reads.getDag(stored.spec.dagId) : undefined;
  // A retry of the same job answered meanwhile made it active again: this one must not run it twice.
  checkRetry(master, session, jobId);
  await master.commands.applyAcknowledged(master.commands.retry(stored, dag, Date.now()));
}

async function jobHistory(master: DagRequestHost, jobId: string): Promise<unknown> {
  const [view, events] = await Promise.all([jobView(master, jobId), master.reads.jobEvents(jobId)]);
  return { job: view, events: events.map(({ jobId: _id, ...event }) => event), final: isFinal(view.state) };
}
