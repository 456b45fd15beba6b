import type { ClusterStatsView } from '../protocol/views.js';
import type { Master } from './master.js';

export function clusterStats(master: Master): ClusterStatsView {
  const now = Date.now();
  return {
    uptimeMs: now - master.startedAt,
    workers: master.scheduler.liveWorkers().map((w) => ({
      id: w.id,
      host: w.host,
      tags: [...w.tags],
      slots: w.slots,
      running: w.running.size,
      load: w.running.size / w.slots,
      health: w.health,
      lastSeenMsAgo: now - w.lastSeen,
      cpus: w.resources.cpus,
      memoryMb: w.resources.memoryMb,
      load1: master.vitals.get(w.id)?.load1 ?? null,
      freeMemoryMb: master.vitals.get(w.id)?.freeMemoryMb ?? null,
      gpus: w.resources.gpus,
      reserved: w.used,
      drivers: [...w.drivers],
      version: master.workerMeta.get(w.id)?.version ?? 'unknown',
      pid: master.workerMeta.get(w.id)?.pid ?? null,
      spawnedBy: master.autoscaler.spawnedHost(w.id) ?? null,
      uptimeMs: (() => {
        const startedAt = master.workerMeta.get(w.id)?.startedAt;
        return startedAt === undefined || startedAt === null ? null : now - startedAt;
      })(),
    })),
    queues: master.scheduler.queueDepths(),
    jobs: master.store.countByState(),
    timers: master.timerSkew.summary(),
  };
}
