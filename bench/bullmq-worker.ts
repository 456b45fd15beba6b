/**
 * One BullMQ worker process for the bench's peer: `node dist/bench/bullmq-worker.js <port> <queue>
 * <concurrency>` spawns /bin/true per job, prints "ready" once connected, and closes on SIGTERM.
 * Run as its own fresh process, as each Titan worker is, rather than inside the bench process.
 */
import { Worker } from 'bullmq';
import { spawnTrue } from './floor.js';

const [port, name, concurrency] = process.argv.slice(2);
const worker = new Worker(name ?? 'titan-bench', () => spawnTrue(), {
  connection: { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null },
  concurrency: Number(concurrency ?? 1),
});
worker.on('error', (err) => process.stderr.write(`${err.message}\n`));
void worker.waitUntilReady().then(() => process.stdout.write('ready\n'));
process.once('SIGTERM', () => {
  void worker.close(true).finally(() => process.exit(0));
});
