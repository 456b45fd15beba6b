import { TitanError, ErrorCode } from '../common/errors.js';
import type { JobSpec } from '../core/job.js';
import type { JobResources } from '../core/resources.js';

type Isolation = Pick<JobSpec, 'resources' | 'driver' | 'network' | 'image'>;

interface LooseResources {
  readonly cpu?: number | undefined;
  readonly memoryMb?: number | undefined;
  readonly gpu?: number | undefined;
}

interface LooseIsolation {
  readonly resources?: LooseResources | undefined;
  readonly driver?: JobSpec['driver'] | undefined;
  readonly network?: JobSpec['network'] | undefined;
  readonly image?: string | undefined;
}

function resourcesOf(given: LooseResources): JobResources | undefined {
  const out: { cpu?: number; memoryMb?: number; gpu?: number } = {};
  if (given.cpu !== undefined && given.cpu > 0) out.cpu = given.cpu;
  if (given.memoryMb !== undefined && given.memoryMb > 0) out.memoryMb = given.memoryMb;
  if (given.gpu !== undefined && given.gpu > 0) out.gpu = given.gpu;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The resource and driver fields of a request, spec or dispatch, copied only when set. */
export function isolationSpec(from: LooseIsolation): Isolation {
  const resources = from.resources !== undefined ? resourcesOf(from.resources) : undefined;
  return {
    ...(resources !== undefined ? { resources } : {}),
    ...(from.driver !== undefined ? { driver: from.driver } : {}),
    ...(from.network !== undefined ? { network: from.network } : {}),
    ...(from.image !== undefined ? { image: from.image } : {}),
  };
}

/**
 * Refuses, at submit time, a job no worker could ever start: the docker driver without an image
 * (it would otherwise wait in the queue forever, or fail on the worker that takes it).
 */
export function checkRunnable(from: LooseIsolation, job: string): void {
  if (from.driver === 'docker' && (from.image === undefined || from.image.trim() === '')) {
    throw new TitanError(
      ErrorCode.INVALID_REQUEST,
      `${job} uses the docker driver without an image: add --image <name> (e.g. --image python:3.12-slim), or image: <name> beside driver: docker in the pipeline`,
    );
  }
}
