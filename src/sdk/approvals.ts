import { Opcode } from '../protocol/opcodes.js';
import type { ApprovalView, GateDecisionView, JobView } from '../protocol/views.js';
import type { Requester } from './lazy-peer.js';

export type { ApprovalView, GateDecisionView } from '../protocol/views.js';

/** How a gate of the original Titan SDK (waiting in the KV set `titan:hitl:queue`) is named: `hitl:<gate id>`. */
const KV_GATE = 'hitl:';

/**
 * Every decision waiting on a person, and the decisions: Titan jobs awaiting approval (a job id,
 * or `<dag-id>/<key>`; the key of a job with `hitl_message` decides its gate) and gates of the
 * original SDK (`hitl:<gate id>`, decided by writing `APPROVED`/`REJECTED` to their status key).
 * Get one from `TitanClient.approvals`.
 *
 * @example
 *   for (const a of await client.approvals.list()) console.log(a.ref, a.message, a.ageMs);
 *   await client.approvals.approve('hitl:hitl-gate-preprocess', 'alice');
 */
export class ApprovalClient {
  constructor(private readonly peer: Requester) {}

  async list(): Promise<ApprovalView[]> {
    return ((await this.peer.request(Opcode.APPROVAL_LIST, {})) as { approvals: ApprovalView[] }).approvals;
  }

  async approve(ref: string, by?: string): Promise<JobView | GateDecisionView> {
    return (await this.peer.request(Opcode.JOB_APPROVE, { ...target(ref), ...(by !== undefined ? { by } : {}) })) as JobView | GateDecisionView;
  }

  async reject(ref: string, reason = '', by?: string): Promise<JobView | GateDecisionView> {
    return (await this.peer.request(Opcode.JOB_REJECT, { ...target(ref), reason, ...(by !== undefined ? { by } : {}) })) as JobView | GateDecisionView;
  }
}

function target(ref: string): { gateId: string } | { jobId: string } {
  return ref.startsWith(KV_GATE) ? { gateId: ref.slice(KV_GATE.length) } : { jobId: ref.replace('/', '.') };
}

/** True when a decision answered for a KV gate rather than a job. */
export function isGateDecision(answer: JobView | GateDecisionView): answer is GateDecisionView {
  return 'key' in answer && 'status' in answer;
}
