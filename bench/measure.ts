/** Small timing helpers shared by the benchmarks. */
import { performance } from 'node:perf_hooks';

export const now = (): number => performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Nearest-rank percentile of samples (ms); p in (0, 100]. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error('percentile of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Rejects with a message naming what took too long; every awaited benchmark step goes through this. */
export function within<T>(what: string, timeoutMs: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Throws when a loop runs past its deadline (every loop is bounded in count and in time). */
export class Deadline {
  private readonly end: number;
  constructor(
    private readonly what: string,
    private readonly ms: number,
  ) {
    this.end = now() + ms;
  }

  check(): void {
    if (now() > this.end) throw new Error(`${this.what}: not done within ${this.ms / 1000} s`);
  }

  get remainingMs(): number {
    return Math.max(0, this.end - now());
  }
}

/** Runs a bench entry point: its resolved number is the exit code; a throw is printed and exits 1. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
