import { TitanError, ErrorCode } from '../common/errors.js';
import { DRIVERS, type DriverName } from '../core/resources.js';

/** The `titan run` flags about where and how a job runs (resources, driver, network, image). */
export interface JobIsolationFlags {
  cpu?: string;
  memory?: string;
  gpu?: string;
  driver?: string;
  network?: string;
  image?: string;
}

interface Isolation {
  resources?: { cpu?: number; memory?: string; gpu?: number };
  driver?: DriverName;
  network?: 'host' | 'none';
  image?: string;
}

function count(flag: string, value: string, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw new TitanError(ErrorCode.INVALID_REQUEST, `${flag} expects ${integer ? 'a whole number' : 'a number'} of 0 or more, got "${value}"`);
  }
  return n;
}

/** `--cpu 1 --memory 256M --gpu 1 --driver sandbox --network none --image alpine` as request fields; the master checks the size. */
export function isolationFlags(flags: JobIsolationFlags): Isolation {
  const resources: NonNullable<Isolation['resources']> = {};
  if (flags.cpu !== undefined) resources.cpu = count('--cpu', flags.cpu, false);
  if (flags.gpu !== undefined) resources.gpu = count('--gpu', flags.gpu, true);
  if (flags.memory !== undefined) resources.memory = flags.memory;
  const out: Isolation = Object.keys(resources).length > 0 ? { resources } : {};
  if (flags.driver !== undefined) {
    const driver = DRIVERS.find((d) => d === flags.driver);
    if (driver === undefined) throw new TitanError(ErrorCode.INVALID_REQUEST, `--driver must be one of ${DRIVERS.join(', ')}, got "${flags.driver}"`);
    out.driver = driver;
  }
  if (flags.network !== undefined) {
    if (flags.network !== 'host' && flags.network !== 'none')
      throw new TitanError(ErrorCode.INVALID_REQUEST, `--network must be host or none, got "${flags.network}"`);
    out.network = flags.network;
  }
  if (flags.image !== undefined) out.image = flags.image;
  return out;
}
