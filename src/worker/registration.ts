import { hostname } from 'node:os';
import type { DriverName } from '../core/resources.js';
import { serviceState, type HeldJob } from './held-job.js';
import { probeResources } from './identity.js';
import { WORKER_VERSION } from '../common/version.js';
import type { WorkerOptions } from './options.js';

/** The WORKER_REGISTER body: who this worker is, what it offers, and the attempts it still holds. */
export function registrationBody(workerId: string, options: WorkerOptions, drivers: readonly DriverName[], held: Iterable<HeldJob>, startedAt: number) {
  const host = probeResources();
  const resources = {
    cpus: options.capacity?.cpus ?? host.cpus,
    memoryMb: options.capacity?.memoryMb ?? host.memoryMb,
    gpus: options.capacity?.gpus ?? host.gpus,
  };
  return {
    workerId,
    host: hostname(),
    tags: options.tags,
    slots: options.slots,
    resources,
    drivers,
    holding: [...held].map((h) => ({ jobId: h.jobId, attempt: h.attempt, ...serviceState(h.service) })),
    pid: process.pid,
    version: WORKER_VERSION,
    startedAt,
    ...(options.spawn !== undefined ? { spawn: { tags: options.spawn.tags, slots: options.spawn.slots, min: options.spawn.min, max: options.spawn.max } } : {}),
    ...(options.spawnedBy !== undefined ? { spawnedBy: options.spawnedBy } : {}),
  };
}
