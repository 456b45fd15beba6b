import type { JobSpec } from './job.js';
import type { WorkerRegistration } from './scheduler.js';
import { DEFAULT_REQUIREMENT, GENERAL } from './requirement.js';

/** Small builders shared by the core's tests. */
export function spec(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    name: 'job',
    run: { kind: 'command', command: '/bin/true' },
    args: [],
    env: {},
    requirement: [...DEFAULT_REQUIREMENT],
    priority: 0,
    retries: 0,
    timeoutSeconds: 0,
    ...overrides,
  };
}

export function worker(id: string, overrides: Partial<WorkerRegistration> = {}): WorkerRegistration {
  return {
    id,
    host: '127.0.0.1',
    tags: [GENERAL],
    slots: 2,
    resources: { cpus: 2, memoryMb: 1024, gpus: 0 },
    holding: [],
    ...overrides,
  };
}
