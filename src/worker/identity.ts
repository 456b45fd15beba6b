import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateValue } from '../common/persistent-value.js';

/** A worker keeps its id in its work dir so that, after a restart, the master recognises it. */
export function loadOrCreateWorkerId(workDir: string): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9-]/g, '')
      .slice(0, 24) || 'worker';
  return loadOrCreateValue(join(workDir, 'worker-id'), () => `${host}-${randomBytes(3).toString('hex')}`);
}

export interface HostResources {
  readonly cpus: number;
  readonly memoryMb: number;
  readonly gpus: number;
}

/** CPU and memory from the OS; GPUs counted from the NVIDIA driver's /proc entries when present. */
export function probeResources(): HostResources {
  let gpus = 0;
  try {
    gpus = readdirSync('/proc/driver/nvidia/gpus').length;
  } catch {
    gpus = 0;
  }
  return { cpus: cpus().length, memoryMb: Math.round(totalmem() / 1024 / 1024), gpus };
}
