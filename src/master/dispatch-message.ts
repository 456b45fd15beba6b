import type { Job } from '../core/job.js';
import { isolationSpec } from './isolation-spec.js';
import { serviceEnvName, type ServiceDirectory } from './service-directory.js';

/** The JOB_DISPATCH body for an attempt: what the worker needs to run it, and its job token. */
export function dispatchMessage(job: Job, services: ServiceDirectory, token: string) {
  return {
    jobId: job.id,
    attempt: job.attempt,
    name: job.spec.name,
    run: job.spec.run,
    args: job.spec.args,
    env: { ...serviceEnv(job, services), ...job.spec.env },
    token,
    ...(job.spec.service !== undefined ? { service: job.spec.service } : {}),
    timeoutSeconds: job.spec.timeoutSeconds,
    ...(job.spec.bundle !== undefined ? { bundle: job.spec.bundle } : {}),
    ...(job.spec.dagId !== undefined ? { dagId: job.spec.dagId } : {}),
    ...isolationSpec(job.spec),
  };
}

/** The addresses of the services this job depends on (TITAN_SERVICE_<ID>_URL and _PORT in its environment). */
function serviceEnv(job: Job, services: ServiceDirectory): Record<string, string> {
  const env: Record<string, string> = {};
  for (const parentId of job.spec.parents ?? []) {
    const endpoint = services.get(parentId);
    if (endpoint === undefined) continue;
    const key = serviceEnvName(job.spec.dagId !== undefined ? parentId.slice(job.spec.dagId.length + 1) : parentId);
    env[`TITAN_SERVICE_${key}_URL`] = `http://${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
    env[`TITAN_SERVICE_${key}_PORT`] = String(endpoint.port);
    env[`TITAN_SERVICE_${key}_HOST`] = endpoint.host;
  }
  return env;
}
