/**
 * The one mapping from a request to the spec the core keeps. Every submission path ends here:
 * JOB_SUBMIT and its batch (`jobSpecOf`), DAG_SUBMIT and DAG_ADD_JOBS, the original Titan's
 * protocol v1 (which builds DAG job requests) and fired schedules (`dagJobSpecOf`).
 */
import type { z } from 'zod';
import type { JobRun, JobSpec, ServiceSpec } from '../core/job.js';
import { requirementOrDefault } from '../core/requirement.js';
import type { JobSubmitRequest, ServicePolicy } from '../protocol/messages.js';
import type { PlannedDagJob } from './hitl-gates.js';
import { isolationSpec } from './isolation-spec.js';
import { bothDelayAndAt } from '../protocol/parse-body.js';

type SubmitBody = z.output<typeof JobSubmitRequest>;

/** The fields a single job and a DAG job share; defaults are already filled in by the schema. */
type SharedFields = Omit<SubmitBody, 'id' | 'name' | 'delaySeconds'>;

/** A job submitted on its own. */
export function jobSpecOf(body: SubmitBody): JobSpec {
  const delaySeconds = body.delaySeconds ?? 0;
  if (delaySeconds > 0 && body.runAt !== undefined) throw bothDelayAndAt('delaySeconds', 'runAt');
  return { ...sharedSpec(body, body.name ?? nameOf(body.run)), ...(delaySeconds > 0 ? { delaySeconds } : {}) };
}

/**
 * A job of DAG `dagId`. `fallbackFor` lists the jobs it stands in for (their on_failure names
 * it): it becomes their child, and runs when one of them fails unless it has parents of its own.
 */
export function dagJobSpecOf(dagId: string, job: PlannedDagJob, fallbackFor: readonly string[]): JobSpec {
  const idOf = (key: string): string => dagJobId(dagId, key);
  return {
    ...sharedSpec(job, job.name ?? job.key),
    dagId,
    parents: [...job.parents, ...fallbackFor].map(idOf),
    triggerRule: fallbackFor.length > 0 && job.parents.length === 0 ? 'one_failed' : job.triggerRule,
    affinity: job.affinity,
    delaySeconds: job.delaySeconds,
    ...(job.retryBackoff !== undefined ? { retryBackoff: job.retryBackoff } : {}),
    ...(job.onFailure !== undefined ? { onFailure: idOf(job.onFailure) } : {}),
    ...(job.approval !== undefined ? { approval: job.decisionOnly === true ? { ...job.approval, decisionOnly: true } : job.approval } : {}),
  };
}

/** Global job id of a DAG job: the DAG id, a dot, its key. */
export function dagJobId(dagId: string, key: string): string {
  return `${dagId}.${key}`;
}

/** The wire's service policy as the core keeps it. */
export function serviceSpec(policy: z.output<typeof ServicePolicy>): ServiceSpec {
  return {
    port: policy.port,
    restart: policy.restart,
    maxRestarts: policy.maxRestarts,
    windowSeconds: policy.windowSeconds,
    ...(policy.readinessPath !== undefined ? { readinessPath: policy.readinessPath } : {}),
  };
}

function sharedSpec(request: SharedFields, name: string): JobSpec {
  return {
    name,
    run: request.run,
    args: request.args,
    env: request.env,
    requirement: requirementOrDefault(request.requirement),
    priority: request.priority,
    retries: request.retries,
    timeoutSeconds: request.timeoutSeconds,
    ...(request.bundle !== undefined ? { bundle: request.bundle } : {}),
    ...(request.service !== undefined ? { service: serviceSpec(request.service) } : {}),
    ...isolationSpec(request),
    ...(request.runAt !== undefined ? { runAt: request.runAt } : {}),
  };
}

/** A job without a name is called by its script, or by the start of its command. */
function nameOf(run: JobRun): string {
  return run.kind === 'script' ? run.fileName : run.command.slice(0, 80);
}
