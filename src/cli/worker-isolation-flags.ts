import { TitanError, ErrorCode } from '../common/errors.js';
import { DRIVERS, parseMemoryMb, type DriverName } from '../core/resources.js';
import type { LimitsMode } from '../worker/confine/confiner.js';
import type { WorkerOptions } from '../worker/options.js';

/** The worker flags about how jobs run and what the worker advertises (`titan worker --help`). */
export interface IsolationFlags {
  driver?: string;
  allowDrivers?: string;
  limits?: string;
  pidsLimit?: string;
  inheritEnv?: boolean;
  cpus?: string;
  memory?: string;
  gpus?: string;
  dockerSocket?: string;
}

type IsolationOptions = Pick<WorkerOptions, 'driver' | 'allowDrivers' | 'limits' | 'pidsLimit' | 'inheritEnv' | 'capacity' | 'dockerSocket'>;

const LIMITS: readonly LimitsMode[] = ['auto', 'cgroup', 'rlimit', 'none'];

function driver(flag: string, value: string): DriverName {
  const found = DRIVERS.find((d) => d === value.trim());
  if (found === undefined) throw new TitanError(ErrorCode.INVALID_REQUEST, `${flag}: unknown driver "${value}"; use ${DRIVERS.join(', ')}`);
  return found;
}

function amount(flag: string, value: string, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw new TitanError(ErrorCode.INVALID_REQUEST, `${flag} expects ${integer ? 'a whole number' : 'a number'} of 0 or more, got "${value}"`);
  }
  return n;
}

/** The worker's driver, limit and capacity flags as options; bad values name the flag and the fix. */
export function isolationOptionsFrom(flags: IsolationFlags): IsolationOptions {
  const limits = flags.limits === undefined ? undefined : LIMITS.find((l) => l === flags.limits);
  if (flags.limits !== undefined && limits === undefined)
    throw new TitanError(ErrorCode.INVALID_REQUEST, `--limits must be one of ${LIMITS.join(', ')}, got "${flags.limits}"`);
  const capacity: { cpus?: number; memoryMb?: number; gpus?: number } = {};
  if (flags.cpus !== undefined) capacity.cpus = amount('--cpus', flags.cpus, false);
  if (flags.gpus !== undefined) capacity.gpus = amount('--gpus', flags.gpus, true);
  if (flags.memory !== undefined) {
    const mb = parseMemoryMb(flags.memory);
    if (typeof mb !== 'number') throw new TitanError(ErrorCode.INVALID_REQUEST, `--memory: ${mb.problem}`);
    capacity.memoryMb = mb;
  }
  return {
    ...(flags.driver !== undefined ? { driver: driver('--driver', flags.driver) } : {}),
    ...(flags.allowDrivers !== undefined
      ? {
          allowDrivers: flags.allowDrivers
            .split(',')
            .filter((d) => d.trim() !== '')
            .map((d) => driver('--allow-drivers', d)),
        }
      : {}),
    ...(limits !== undefined ? { limits } : {}),
    ...(flags.pidsLimit !== undefined ? { pidsLimit: amount('--pids-limit', flags.pidsLimit, true) } : {}),
    ...(flags.inheritEnv === true ? { inheritEnv: true } : {}),
    ...(Object.keys(capacity).length > 0 ? { capacity } : {}),
    ...(flags.dockerSocket !== undefined ? { dockerSocket: flags.dockerSocket } : {}),
  };
}
