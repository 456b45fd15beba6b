/**
 * A master's leadership and store in a process of its own, for the tests that stop it with
 * SIGSTOP (leadership.test.ts). Prints `elected <epoch>` and `lost <reason>`; on the stdin line
 * `write <job id> <seq>` it commits one submission through its fenced store and prints
 * `write ok` or `write <error code>`.
 */
import { createInterface } from 'node:readline';
import { PostgresStore } from '../store/postgres/pg-store.js';
import { Leadership } from './leadership.js';

const say = (line: string): boolean => process.stdout.write(`${line}\n`);
const url = process.env.TITAN_LEASE_URL ?? '';
const schema = process.env.TITAN_LEASE_SCHEMA ?? '';
const ttlMs = Number(process.env.TITAN_LEASE_TTL_MS ?? 1000);

const store = await PostgresStore.open(url, { schema, max: 1, applicationName: 'titan-lease-child' });
const leadership = new Leadership(
  url,
  { schema, ttlMs, retryEveryMs: 50, applicationName: 'titan-lease-child' },
  {
    onElected: (epoch) => {
      store.fence(epoch);
      say(`elected ${epoch}`);
    },
    onLost: (reason) => say(`lost ${reason}`),
  },
);
leadership.start();

for await (const line of createInterface({ input: process.stdin })) {
  const [command, id = 'x', seq = '1'] = line.trim().split(/\s+/);
  if (command !== 'write') continue;
  const job = {
    id,
    seq: Number(seq),
    state: 'queued' as const,
    attempt: 0,
    workerId: null,
    submittedAt: Date.now(),
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    signal: null,
    reason: null,
    notBefore: null,
    pinnedWorker: null,
    crashes: 0,
    attemptBase: 0,
    serviceReady: false,
    spec: {
      name: id,
      run: { kind: 'command' as const, command: 'true' },
      args: [],
      env: {},
      requirement: ['GENERAL'],
      priority: 0,
      retries: 0,
      timeoutSeconds: 0,
    },
  };
  try {
    await store.commitTick({
      writes: [{ job, event: { jobId: id, at: job.submittedAt, from: null, to: 'queued', attempt: 0, workerId: null, detail: null } }],
    });
    say('write ok');
  } catch (err) {
    say(`write ${(err as { code?: string }).code ?? (err as Error).message}`);
  }
}
await leadership.stop();
await store.close();
