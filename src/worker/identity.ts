import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { join } from 'node:path';

/** A worker keeps its id in its work dir so that, after a restart, the master recognises it. */
export function loadOrCreateWorkerId(workDir: string): string {
  const path = join(workDir, 'worker-id');
  try {
    const id = readFileSync(path, 'utf8').trim();
    if (id.length > 0) return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(workDir, { recursive: true });
  const host = hostname().replace(/[^A-Za-z0-9-]/g, '').slice(0, 24) || 'worker';
  const id = `${host}-${randomBytes(3).toString('hex')}`;
  writeFileSync(path, `${id}\n`);
  return id;
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
