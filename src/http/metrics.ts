import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { JOB_STATES } from '../core/job.js';
import type { HttpApiParts } from './parts.js';
import { Opcode } from '../protocol/opcodes.js';
import type { ServiceView } from '../protocol/views.js';
import { callMaster } from './master-call.js';
import { ClientContext } from '../master/client-context.js';
import { registerStoreMetrics } from './store-metrics.js';

/**
 * The master's Prometheus metrics, on a registry of its own (several masters can share a
 * process in tests). Gauges read the master's state when scraped; the histograms and counters
 * are fed by the event feed as transitions happen.
 */
export class MasterMetrics {
  readonly registry = new Registry();
  readonly #unsubscribe: (() => void)[] = [];
  readonly #queuedAt = new Map<string, number>();

  constructor(api: HttpApiParts) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'titan_master_' });
    registerStoreMetrics(this.registry, api.reads);
    // The ledger's head, scraped from outside the data dir: a later cut or wipe cannot match what was seen.
    new Gauge({
      name: 'titan_audit_head_seq',
      help: "Sequence number of the last audit ledger row; the hash label is that row's chained hash",
      labelNames: ['hash'],
      registers: [this.registry],
      collect() {
        const head = api.security.audit.head();
        this.reset();
        this.set({ hash: head.hash }, head.seq);
      },
    });
    new Gauge({
      name: 'titan_audit_rows',
      help: "Rows in the audit ledger (it is never pruned); the hash label is the head row's chained hash",
      labelNames: ['hash'],
      registers: [this.registry],
      collect() {
        const head = api.security.audit.head();
        this.reset();
        this.set({ hash: head.hash }, head.rows);
      },
    });
    new Gauge({
      name: 'titan_jobs',
      help: 'Jobs in the store by state',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await api.reads.jobCounts();
        for (const state of JOB_STATES) this.set({ state }, counts[state]);
      },
    });
    new Gauge({
      name: 'titan_queue_depth',
      help: 'Ready jobs waiting for a slot, per capability pool',
      labelNames: ['pool'],
      registers,
      collect() {
        this.reset();
        for (const [pool, depth] of Object.entries(api.reads.queueDepths())) this.set({ pool }, depth);
      },
    });
    new Gauge({
      name: 'titan_workers',
      help: 'Workers by health',
      labelNames: ['health'],
      registers,
      collect() {
        const counts: Record<string, number> = { healthy: 0, suspect: 0, dead: 0 };
        for (const worker of api.reads.liveWorkers()) counts[worker.health] = (counts[worker.health] ?? 0) + 1;
        for (const [health, n] of Object.entries(counts)) this.set({ health }, n);
      },
    });
    new Gauge({
      name: 'titan_worker_slots',
      help: 'Slots of live workers, total and in use',
      labelNames: ['kind'],
      registers,
      collect() {
        const workers = api.reads.liveWorkers();
        this.set(
          { kind: 'total' },
          workers.reduce((n, w) => n + w.slots, 0),
        );
        this.set(
          { kind: 'used' },
          workers.reduce((n, w) => n + w.busySlots, 0),
        );
      },
    });
    new Gauge({
      name: 'titan_service_restarts',
      help: 'Restarts of each running service on its current worker',
      labelNames: ['service'],
      registers,
      async collect() {
        this.reset();
        const { services } = (await callMaster(api.requests, new ClientContext('metrics'), Opcode.SERVICE_LIST, {})) as { services: ServiceView[] };
        for (const service of services) this.set({ service: service.id }, service.restarts);
      },
    });
    const transitions = new Counter({
      name: 'titan_job_transitions_total',
      help: 'Job state transitions, by the state entered',
      labelNames: ['to'],
      registers,
    });
    const dispatch = new Histogram({
      name: 'titan_dispatch_latency_seconds',
      help: 'Time from a job becoming ready (queued) to its assignment to a worker',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    const storeWrite = new Histogram({
      name: 'titan_store_write_seconds',
      help: 'Duration of one store transaction (a batch of transitions)',
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers,
    });
    this.#unsubscribe.push(
      api.reads.feed.subscribe((event) => {
        transitions.inc({ to: event.to });
        if (event.to === 'queued') this.#queuedAt.set(event.jobId, event.at);
        else {
          const queuedAt = this.#queuedAt.get(event.jobId);
          if (queuedAt === undefined) return;
          this.#queuedAt.delete(event.jobId);
          if (event.to === 'assigned') dispatch.observe(Math.max(0, event.at - queuedAt) / 1000);
        }
      }),
      api.reads.feed.onStoreWrite((seconds) => storeWrite.observe(seconds)),
    );
  }

  close(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
  }
}
