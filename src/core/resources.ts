/**
 * What a job asks of a worker beyond a slot, and what a worker has to give. Pure arithmetic:
 * placement reserves a job's request on its worker while the job holds it.
 */

/** A job's declared needs; absent fields ask for nothing. CPU in cores (fractions allowed). */
export interface JobResources {
  readonly cpu?: number;
  readonly memoryMb?: number;
  readonly gpu?: number;
}

/** The execution drivers a worker may offer and a job may ask for. */
export const DRIVERS = ['process', 'sandbox', 'docker'] as const;
export type DriverName = (typeof DRIVERS)[number];

export interface Capacity {
  readonly cpus: number;
  readonly memoryMb: number;
  readonly gpus: number;
}

export const NO_USE: Capacity = { cpus: 0, memoryMb: 0, gpus: 0 };

export function asUse(resources: JobResources | undefined): Capacity {
  if (resources === undefined) return NO_USE;
  return { cpus: resources.cpu ?? 0, memoryMb: resources.memoryMb ?? 0, gpus: resources.gpu ?? 0 };
}

export function addUse(a: Capacity, b: Capacity): Capacity {
  return { cpus: a.cpus + b.cpus, memoryMb: a.memoryMb + b.memoryMb, gpus: a.gpus + b.gpus };
}

export function subtractUse(a: Capacity, b: Capacity): Capacity {
  // Rounded so that adding and removing fractions of a core never leaves -0.0000001 behind.
  const round = (n: number): number => Math.max(0, Math.round(n * 1000) / 1000);
  return { cpus: round(a.cpus - b.cpus), memoryMb: round(a.memoryMb - b.memoryMb), gpus: round(a.gpus - b.gpus) };
}

export interface Shortfall {
  readonly resource: 'memory' | 'CPU' | 'GPU';
  readonly want: string;
  readonly have: string;
}

/** The first resource `want` exceeds in `have`; null when it fits. */
export function shortfall(want: Capacity, have: Capacity): Shortfall | null {
  if (want.memoryMb > have.memoryMb) return { resource: 'memory', want: formatMb(want.memoryMb), have: formatMb(have.memoryMb) };
  if (want.cpus > have.cpus) return { resource: 'CPU', want: String(want.cpus), have: String(have.cpus) };
  if (want.gpus > have.gpus) return { resource: 'GPU', want: String(want.gpus), have: String(have.gpus) };
  return null;
}

export function describeResources(resources: JobResources | undefined): string {
  const use = asUse(resources);
  const parts: string[] = [];
  if (use.cpus > 0) parts.push(`cpu=${use.cpus}`);
  if (use.memoryMb > 0) parts.push(`memory=${formatMb(use.memoryMb)}`);
  if (use.gpus > 0) parts.push(`gpu=${use.gpus}`);
  return parts.join(' ');
}

export function formatMb(mb: number): string {
  return mb >= 1024 && mb % 1024 === 0 ? `${mb / 1024}G` : `${mb}M`;
}

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1 / 1048576,
  k: 1 / 1024,
  kb: 1 / 1024,
  ki: 1 / 1024,
  kib: 1 / 1024,
  m: 1,
  mb: 1,
  mi: 1,
  mib: 1,
  g: 1024,
  gb: 1024,
  gi: 1024,
  gib: 1024,
  t: 1048576,
  tb: 1048576,
  ti: 1048576,
  tib: 1048576,
};

/**
 * A memory size as MiB: a number is MiB already; text is a number and a unit (`512M`, `1.5G`,
 * `256Mi`, `2GB`, `1048576K`; binary multiples either way). Returns the problem in words when it
 * is not a size.
 */
export function parseMemoryMb(value: number | string): number | { readonly problem: string } {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.ceil(value) : { problem: `memory must be a non-negative number of MiB, not ${value}` };
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  const factor = match === null ? undefined : UNITS[(match[2] ?? '').toLowerCase()];
  if (match === null || factor === undefined) {
    return { problem: `memory ${JSON.stringify(value)} is not a size; write it like 256M, 1.5G or 512 (MiB)` };
  }
  return Math.ceil(Number(match[1]) * factor);
}
