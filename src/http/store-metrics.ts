import { Gauge, type Registry } from 'prom-client';
import type { MasterReadModel } from '../master/ports.js';

/** Retention, store size and loop stalls, read from the master when scraped. */
export function registerStoreMetrics(registry: Registry, reads: MasterReadModel): void {
  const registers = [registry];
  new Gauge({
    name: 'titan_store_bytes',
    help: 'Size of the store on disk: the database file and its write-ahead log',
    labelNames: ['file'],
    registers,
    async collect() {
      const { db, wal } = await reads.storeBytes();
      this.set({ file: 'db' }, db);
      this.set({ file: 'wal' }, wal);
    },
  });
  new Gauge({
    name: 'titan_retention_batch_ms_max',
    help: 'The longest retention batch so far, in ms (the longest the loop was held deleting)',
    registers,
    collect() {
      this.set(reads.storeStats().retention.batchMsMax);
    },
  });
  new Gauge({
    name: 'titan_retention_batches',
    help: 'Retention batches run since start',
    registers,
    collect() {
      this.set(reads.storeStats().retention.batches);
    },
  });
  new Gauge({
    name: 'titan_retention_deleted',
    help: 'Rows (and, for kind "artifacts", artifact files) deleted by retention since start, by kind',
    labelNames: ['kind'],
    registers,
    collect() {
      for (const [kind, n] of Object.entries(reads.storeStats().retention.deleted)) this.set({ kind }, n);
    },
  });
  new Gauge({
    name: 'titan_retention_artifact_bytes_deleted',
    help: 'Bytes of artifact files deleted by retention since start (files nothing named any more)',
    registers,
    collect() {
      this.set(reads.storeStats().retention.artifactBytesDeleted);
    },
  });
  new Gauge({
    name: 'titan_store_full',
    help: 'Whether a full disk makes the master refuse new work (1) or not (0); see docs/RELIABILITY.md',
    registers,
    collect() {
      this.set(reads.storeStats().full ? 1 : 0);
    },
  });
  new Gauge({
    name: 'titan_store_held_batches',
    help: 'Batches of accepted changes held in memory until the full disk has room again',
    registers,
    collect() {
      this.set(reads.storeStats().heldBatches);
    },
  });
  new Gauge({
    name: 'titan_loop_stall_ms_max',
    help: "The longest stall of the master's event loop seen (heartbeat deadlines are extended by stalls)",
    registers,
    collect() {
      this.set(reads.storeStats().loopStallMsMax);
    },
  });
}
