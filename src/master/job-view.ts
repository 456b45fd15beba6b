import type { Job } from '../core/job.js';
import type { JobView } from '../protocol/views.js';

export type { JobView };

export function toJobView(job: Job, waitingReason: string | null = null): JobView {
  return {
    id: job.id,
    name: job.spec.name,
    state: job.state,
    attempt: job.attempt,
    workerId: job.workerId,
    priority: job.spec.priority,
    requirement: job.spec.requirement,
    submittedAt: job.submittedAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    exitCode: job.exitCode,
    signal: job.signal,
    reason: waitingReason ?? job.reason,
    dagId: job.spec.dagId ?? null,
    ...(job.spec.resources !== undefined ? { resources: job.spec.resources } : {}),
    ...(job.spec.driver !== undefined ? { driver: job.spec.driver } : {}),
    ...(job.spec.owner !== undefined ? { submittedBy: job.spec.owner.name } : {}),
  };
}
