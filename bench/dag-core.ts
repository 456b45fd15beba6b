/**
 * The pure scheduling core resolving a 100,000-node layered DAG, no processes: every job is
 * submitted, dispatched to a simulated worker and reported done. The figure is state
 * transitions (persisted effects) per second of wall time in this process.
 */
import { Scheduler } from '../src/core/scheduler.js';
import type { Effect } from '../src/core/effects.js';
import type { Job, JobSpec } from '../src/core/job.js';
import { now } from './measure.js';

const BASE: JobSpec = {
  name: 'n',
  run: { kind: 'command', command: '/bin/true' },
  args: [],
  env: {},
  requirement: ['GENERAL'],
  priority: 0,
  retries: 0,
  timeoutSeconds: 0,
};

export interface DagCoreFigures {
  readonly nodes: number;
  readonly transitions: number;
  readonly seconds: number;
  readonly transitionsPerSecond: number;
}

/** Layers of `width` jobs; each job depends on two jobs of the layer before. */
export function dagCoreThroughput(nodes = 100_000, width = 1_000, slots = 2_000): DagCoreFigures {
  const s = new Scheduler();
  let transitions = 0;
  const ready: Job[] = [];
  const take = (effects: Effect[]): void => {
    for (const e of effects) {
      if (e.type === 'persist') transitions++;
      else if (e.type === 'dispatch') ready.push(e.job);
    }
  };
  // The input is built before the clock starts: the figure is the core's work, not the bench's.
  const specs: Array<[string, JobSpec]> = [];
  for (let i = 0; i < nodes; i++) {
    const layer = Math.floor(i / width);
    const parents = layer === 0 ? [] : [`j${(layer - 1) * width + (i % width)}`, `j${(layer - 1) * width + ((i + 1) % width)}`];
    specs.push([`j${i}`, { ...BASE, dagId: 'bench', parents }]);
  }
  const t0 = now();
  s.registerWorker({ id: 'sim', host: 'sim', tags: ['GENERAL'], slots, resources: { cpus: 1, memoryMb: 1, gpus: 0 }, holding: [] }, 0);
  take(s.createDag('bench', 'layered', 0));
  for (const [id, spec] of specs) take(s.submit(id, spec, 1));
  for (let next = 0; next < ready.length; next++) {
    const job = ready[next]!;
    take(s.jobFinished('sim', job.id, job.attempt, { exitCode: 0, signal: null, durationMs: 0 }, 2));
  }
  const seconds = (now() - t0) / 1000;
  if (ready.length !== nodes) throw new Error(`only ${ready.length} of ${nodes} jobs ran`);
  return { nodes, transitions, seconds, transitionsPerSecond: Math.round(transitions / seconds) };
}
