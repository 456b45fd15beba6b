import { TitanError, ErrorCode } from '../common/errors.js';
import type { Job } from '../core/job.js';
import { hitlGateId } from '../pipeline/pipeline.js';
import type { ApprovalView, GateDecisionView } from '../protocol/views.js';
import type { ClientContext } from './client-context.js';
import type { Master } from './master.js';

/** Jobs awaiting approval are read from the core; the original SDK's gates live in the KV store. */
export type ApprovalHost = Pick<Master, 'reads' | 'kv' | 'gateDecisions'>;

/** The original Titan's KV schema for its SDK's approval gates (`hitl_gate.py`). */
export const HITL_QUEUE_KEY = 'titan:hitl:queue';
export const HITL_STATUS_PREFIX = 'titan:hitl:status:';
export const HITL_MESSAGE_PREFIX = 'titan:hitl:message:';
export const HITL_TS_PREFIX = 'titan:hitl:ts:';
/** How a gate ref is written on the command line and in the API: `hitl:<gate id>`. */
export const KV_GATE_REF_PREFIX = 'hitl:';

/** Everything waiting for a person that this caller may see, oldest first. */
export async function listApprovals(master: ApprovalHost, caller: Pick<ClientContext, 'sees'>, now: number): Promise<ApprovalView[]> {
  const waiting = [...master.reads.awaitingDecision()].filter((job) => caller.sees(job.id));
  const [jobs, gates] = await Promise.all([Promise.all(waiting.map((job) => jobApproval(master, job, now))), waitingKvGates(master, now)]);
  const visible = gates.filter((gate) => caller.sees(HITL_STATUS_PREFIX + gate.ref.slice(KV_GATE_REF_PREFIX.length)));
  return [...jobs, ...visible].sort((a, b) => (a.since ?? now) - (b.since ?? now));
}

async function jobApproval(master: ApprovalHost, job: Job, now: number): Promise<ApprovalView> {
  // The wait began at the first of the trailing "awaiting approval" events (a restart adds another).
  let since: number | null = null;
  const events = await master.reads.jobEvents(job.id);
  for (let i = events.length - 1; i >= 0 && events[i]?.detail?.startsWith('awaiting approval') === true; i--) since = events[i]?.at ?? since;
  return {
    ref: job.id,
    kind: 'job',
    message: job.spec.approval?.message ?? '',
    since,
    ageMs: since === null ? null : Math.max(0, now - since),
    expiresAt: job.notBefore,
    jobId: job.id,
    dagId: job.spec.dagId ?? null,
  };
}

/** Gates of the original SDK: members of `titan:hitl:queue` whose status is `WAITING`, as its dashboard lists them. */
async function waitingKvGates(master: ApprovalHost, now: number): Promise<ApprovalView[]> {
  const read = async (key: string): Promise<string | null> => {
    const entry = await master.kv.kvGet(key, now);
    return entry?.kind === 'string' ? entry.value : null;
  };
  const queue = await master.kv.kvGet(HITL_QUEUE_KEY, now);
  if (queue?.kind !== 'set') return [];
  const gates = await Promise.all(
    queue.value.map(async (gateId) => {
      const [status, ts, message] = await Promise.all([read(HITL_STATUS_PREFIX + gateId), read(HITL_TS_PREFIX + gateId), read(HITL_MESSAGE_PREFIX + gateId)]);
      return { gateId, status, ts, message };
    }),
  );
  return gates.flatMap(({ gateId, status, ts: tsText, message }): ApprovalView[] => {
    if (status?.trim() !== 'WAITING') return [];
    const ts = Number(tsText);
    const since = Number.isSafeInteger(ts) && ts > 0 ? ts : null;
    return [
      {
        ref: KV_GATE_REF_PREFIX + gateId,
        kind: 'kv-gate',
        message: message ?? 'Awaiting approval',
        since,
        ageMs: since === null ? null : Math.max(0, now - since),
        expiresAt: null,
        jobId: null,
        dagId: null,
      },
    ];
  });
}

/**
 * Decides a gate of the original SDK the way the original dashboard does: `APPROVED` or
 * `REJECTED` written to `titan:hitl:status:<id>`, which the gate script polls. Only a gate
 * registered in the queue and still `WAITING` is decided; anything else is refused, unchanged.
 * Decisions of one gate run one at a time, so two cannot both find it waiting.
 */
export function decideKvGate(master: ApprovalHost, gateId: string, approve: boolean, by: string, now: number): Promise<GateDecisionView> {
  return master.gateDecisions.run(gateId, () => decide(master, gateId, approve, by, now));
}

async function decide(master: ApprovalHost, gateId: string, approve: boolean, by: string, now: number): Promise<GateDecisionView> {
  const ref = KV_GATE_REF_PREFIX + gateId;
  const queue = await master.kv.kvGet(HITL_QUEUE_KEY, now);
  if (queue?.kind !== 'set' || !queue.value.includes(gateId)) {
    throw new TitanError(
      ErrorCode.UNKNOWN_JOB,
      `no gate ${ref}: ${JSON.stringify(gateId)} is not in ${HITL_QUEUE_KEY}; \`titan approvals\` lists the ones waiting`,
    );
  }
  const key = HITL_STATUS_PREFIX + gateId;
  const entry = await master.kv.kvGet(key, now);
  const status = entry?.kind === 'string' ? entry.value.trim() : null;
  if (status !== 'WAITING') {
    throw new TitanError(
      ErrorCode.INVALID_REQUEST,
      `gate ${ref} is not waiting for a decision: ${key} is ${status === null ? 'not set' : JSON.stringify(status)}`,
    );
  }
  const decided = approve ? 'APPROVED' : 'REJECTED';
  await master.kv.kvPut(key, decided, null, now);
  return { ref, key, status: decided, by };
}

/**
 * The job a `titan approve <dag>/<job>` means: the job itself when it awaits approval, else the
 * gate inserted after it for its `hitl_message`, when that one does.
 */
export async function approvalTarget(master: ApprovalHost, jobId: string): Promise<string> {
  if (master.reads.isAwaitingApproval(jobId)) return jobId;
  const dagId = (master.reads.job(jobId) ?? (await master.reads.getJob(jobId)))?.spec.dagId;
  if (dagId === undefined || !jobId.startsWith(`${dagId}.`)) return jobId;
  const gate = `${dagId}.${hitlGateId(jobId.slice(dagId.length + 1))}`;
  return master.reads.isAwaitingApproval(gate) ? gate : jobId;
}
