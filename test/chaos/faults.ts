/**
 * The faults of a chaos run, drawn from the seeded generator: SIGKILL (then a restart on the same
 * dirs) and SIGSTOP/SIGCONT of the master and of workers, cutting the namespaced worker's link,
 * and slowing it with netem where the kernel has it.
 * Pauses and cuts stay shorter than the lease (docs/RELIABILITY.md): longer ones are the
 * "worker lost" case, which SIGKILL covers.
 */
import type { ChaosProcesses } from './processes.js';
import type { Random } from './random.js';

export type FaultKind = 'kill-worker' | 'stop-worker' | 'kill-master' | 'stop-master' | 'partition' | 'slow-link';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class FaultInjector {
  private readonly round: FaultKind[] = [];
  /** When each worker was SIGKILLed (epoch ms), to tell a double completion at a worker's death from any other. */
  readonly workerKills: Array<{ readonly workerId: string; readonly at: number }> = [];
  readonly counts: Record<FaultKind, number> = { 'kill-worker': 0, 'stop-worker': 0, 'kill-master': 0, 'stop-master': 0, partition: 0, 'slow-link': 0 };

  constructor(
    private readonly cluster: ChaosProcesses,
    private readonly random: Random,
  ) {}

  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  /** Injects faults until `until` (epoch ms), one every 2–5 s. */
  async run(until: number): Promise<void> {
    while (Date.now() < until) {
      await sleep(this.random.between(2_000, 5_000));
      if (Date.now() >= until) break;
      await this.inject(this.pick());
    }
  }

  /** Rounds in a seeded order, each holding every kind, so a short run still meets them all. */
  private pick(): FaultKind {
    if (this.round.length === 0) {
      const kinds: FaultKind[] = ['kill-worker', 'kill-worker', 'stop-worker', 'stop-worker', 'kill-master', 'stop-master'];
      if (this.cluster.islander !== null) kinds.push('partition', 'partition');
      if (this.cluster.islander?.netns.canSlow === true) kinds.push('slow-link');
      for (let i = kinds.length - 1; i > 0; i--) {
        const j = this.random.int(i + 1);
        [kinds[i], kinds[j]] = [kinds[j] as FaultKind, kinds[i] as FaultKind];
      }
      this.round.push(...kinds);
    }
    return this.round.shift() ?? 'kill-worker';
  }

  private async inject(kind: FaultKind): Promise<void> {
    const { cluster, random } = this;
    const workerId = cluster.workerIds[random.int(cluster.workerIds.length)] ?? '';
    switch (kind) {
      case 'kill-worker':
        this.workerKills.push({ workerId, at: Date.now() });
        await cluster.killWorker(workerId);
        await sleep(random.between(300, 2_000));
        cluster.startWorker(workerId);
        break;
      case 'stop-worker': {
        const worker = cluster.workers.get(workerId);
        cluster.signal(worker, 'SIGSTOP');
        await sleep(random.between(300, 2_500));
        cluster.signal(worker, 'SIGCONT');
        break;
      }
      case 'kill-master':
        await cluster.killMaster();
        await sleep(random.between(300, 1_000));
        await cluster.startMaster();
        break;
      case 'stop-master':
        cluster.signal(cluster.master, 'SIGSTOP');
        await sleep(random.between(300, 2_000));
        cluster.signal(cluster.master, 'SIGCONT');
        break;
      case 'partition': {
        const netns = cluster.islander?.netns;
        if (netns === undefined) return;
        netns.setLink(false);
        await sleep(random.between(500, 2_500));
        netns.setLink(true);
        break;
      }
      case 'slow-link': {
        // A congested or distant link: slower than the heartbeat interval, well inside the lease.
        const netns = cluster.islander?.netns;
        if (netns === undefined || netns.canSlow !== true) return;
        netns.slow(random.between(50, 400), random.between(0, 100));
        await sleep(random.between(2_000, 6_000));
        netns.slow(null);
        break;
      }
    }
    this.counts[kind]++;
  }
}
