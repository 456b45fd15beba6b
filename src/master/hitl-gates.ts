import { TitanError, ErrorCode } from '../common/errors.js';
import type { z } from 'zod';
import { hitlGateId } from '../pipeline/pipeline.js';
import type { DagJobRequest } from '../protocol/messages.js';
import { DEFAULT_REQUIREMENT } from '../core/requirement.js';

type DagJob = z.output<typeof DagJobRequest>;

/** A DAG job as planned: an inserted gate is only a decision, never a process. */
export type PlannedDagJob = DagJob & { readonly decisionOnly?: true };

/**
 * The original Titan's `hitl_message`, mapped onto Titan's approvals as its SDK did it: after each
 * job carrying one, a gate job `hitl-gate-<key>` awaiting approval (deadline `maxWaitSeconds`)
 * is inserted, and every job that depended on the gated job depends on the gate instead. Jobs
 * added later to the DAG that name a gated job are rewired the same way (`existingKeys` holds
 * the DAG's keys). The gate runs nothing: approving it succeeds it; reject or expiry fails it.
 */
export function withHitlGates(jobs: readonly DagJob[], existingKeys: ReadonlySet<string>): PlannedDagJob[] {
  const batchKeys = new Set(jobs.map((j) => j.key));
  const gates = new Map<string, string>();
  for (const job of jobs) {
    if (job.hitl === undefined) continue;
    const gate = hitlGateId(job.key);
    if (batchKeys.has(gate) || existingKeys.has(gate)) {
      throw new TitanError(
        ErrorCode.INVALID_REQUEST,
        `job ${job.key} has hitl_message, so its approval gate is named ${gate}, which another job already uses; rename that job`,
      );
    }
    gates.set(job.key, gate);
  }
  const laterGate = (parent: string): string | undefined =>
    !batchKeys.has(parent) && existingKeys.has(parent) && existingKeys.has(hitlGateId(parent)) ? hitlGateId(parent) : undefined;
  const rewire = (parent: string): string => gates.get(parent) ?? laterGate(parent) ?? parent;
  if (gates.size === 0 && !jobs.some((j) => j.parents.some((p) => laterGate(p) !== undefined))) return [...jobs];

  const planned: PlannedDagJob[] = [];
  for (const job of jobs) {
    planned.push({ ...job, parents: job.parents.map(rewire) });
    if (job.hitl === undefined) continue;
    planned.push({
      key: hitlGateId(job.key),
      name: hitlGateId(job.key),
      // Never started: the scheduler succeeds a decision-only gate when it is approved.
      run: { kind: 'command', command: 'true' },
      args: [],
      env: {},
      requirement: [...DEFAULT_REQUIREMENT],
      priority: job.priority,
      retries: 0,
      timeoutSeconds: 0,
      parents: [job.key],
      triggerRule: 'all_success',
      affinity: false,
      delaySeconds: 0,
      approval: { message: job.hitl.message, timeoutSeconds: job.hitl.maxWaitSeconds },
      decisionOnly: true,
    });
  }
  return planned;
}
