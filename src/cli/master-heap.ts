import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/**
 * How far V8 lets the old generation grow past what the last full GC found live, in percent.
 * Left to itself V8 picks a factor between 1.1 and 4 from its GC and allocation speeds; a master
 * under a steady stream of jobs allocates fast, gets close to 4, and in the soak held 75–85 MB of
 * old space for some 30 MB live (RSS 186 MB at 16,000 jobs). At 30 % the same soak stayed at
 * 146 MB with no loss of throughput: more full GCs, each over a small live heap, mostly off the
 * loop (concurrent marking). A master whose live heap is large pays more GC for it.
 */
export const MASTER_HEAP_GROWING_PERCENT = 30;

/**
 * Sets the master's heap growing factor. This V8 flag is read at every full GC, so setting it
 * after start takes effect (unlike the heap sizes, fixed when the isolate is made); NODE_OPTIONS
 * does not accept it. Applies to the whole process: call it only where the process is a master.
 */
export function boundMasterHeapGrowth(percent = MASTER_HEAP_GROWING_PERCENT): void {
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/**
 * The most the master's young generation (new space: both semi-spaces) grows to, in MB. Left to
 * itself V8 doubles it up to 32 MB under a master's allocation rate and keeps it: in the soak that
 * was 32 of a 77 MB heap, the largest single part of the RSS, and each scavenge copied what
 * survived of up to 16 MB (1–23 ms, a pause that could land inside anything, a retention batch
 * included). At 8 MB scavenges come four times as often, each over a quarter of the space.
 */
export const MASTER_YOUNG_GENERATION_MB = 8;

function youngGenerationBytes(): number {
  return v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
}

let steering: PerformanceObserver | null = null;
let limitBytes = 0;

function steer(): void {
  v8.setFlagsFromString(`--semi-space-growth-factor=${youngGenerationBytes() < limitBytes ? 2 : 1}`);
}

/**
 * Keeps the master's young generation at most `mb` MB (a power of two: V8 doubles it). Its size
 * limit is fixed when the isolate is made, and NODE_OPTIONS is the user's; what V8 does read at
 * every growth is the growth factor. So after each GC the factor is set to 2 while the space is
 * under the limit and to 1 (no growth) once it is there, and set again every time: the flag is the
 * process's, and V8 puts it back to 2 whenever it makes an isolate (a worker thread), so one
 * doubling can slip in before the next GC is observed. V8 never gives back new space a busy
 * process grew, so main.ts calls this first thing for `master` and `up`, at half the bound while
 * the master starts (it makes the WAL checkpointer's thread amid much allocation, where that one
 * doubling did happen, to 16 MB), and runMaster lifts it to the bound once started. Applies to the
 * whole process; a later call moves the bound.
 */
export function boundMasterYoungGeneration(mb = MASTER_YOUNG_GENERATION_MB): void {
  limitBytes = mb * 1_048_576;
  steer();
  if (steering !== null) return;
  steering = new PerformanceObserver(steer);
  steering.observe({ entryTypes: ['gc'] });
}

/** Once the master has started (its threads made): lifts the start-up bound to the full one, in a process main.ts bounded. */
export function liftStartUpBound(): void {
  if (steering !== null) boundMasterYoungGeneration();
}
