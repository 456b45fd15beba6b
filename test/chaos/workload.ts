/**
 * The chaos run's workload. Every job keeps a ledger in `ledger/`: `<job id>.start` gets a line per
 * attempt that started, `<job id>.done` a line per completion, and a DAG job whose parents had not
 * completed when it started writes `<job id>.early`. Submissions carry their own ids where the
 * protocol allows, so one retried after a master crash is recognised ("already in use") and not doubled.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TitanClient } from '../../src/sdk/client.js';
import { TOKEN } from '../harness.js';
import type { Random } from './random.js';

export interface Accepted {
  readonly jobs: string[];
  readonly dagJobs: Map<string, readonly string[]>;
  readonly services: string[];
  readonly kv: Map<string, string>;
  chattyJob: string | null;
  scheduleId: string | null;
}

export class Workload {
  readonly ledger: string;
  readonly accepted: Accepted = { jobs: [], dagJobs: new Map(), services: [], kv: new Map(), chattyJob: null, scheduleId: null };
  private client: TitanClient | null = null;
  private seq = 0;

  constructor(
    dir: string,
    private readonly random: Random,
    private readonly address: () => { host: string; port: number },
  ) {
    this.ledger = join(dir, 'ledger');
    mkdirSync(this.ledger, { recursive: true });
    chmodSync(this.ledger, 0o1777); // a root worker's jobs run as titan-job
  }

  /** A job that runs `seconds` and keeps its ledger. */
  command(seconds: number, parents: readonly string[] = []): string {
    const l = this.ledger;
    const check = parents.map((p) => `[ -s ${l}/$TITAN_DAG_ID.${p}.done ] || echo "parent ${p} not done" >> ${l}/$TITAN_JOB_ID.early;`).join(' ');
    return `${check} echo $TITAN_ATTEMPT >> ${l}/$TITAN_JOB_ID.start; sleep ${seconds.toFixed(2)}; echo "done $TITAN_ATTEMPT $(date +%s%3N) $TITAN_WORKER_ID" >> ${l}/$TITAN_JOB_ID.done`;
  }

  /** One step of the workload, chosen by the seeded generator; failures from faults are retried. */
  async step(): Promise<void> {
    const pick = this.random.next();
    if (pick < 0.45) await this.plainJob();
    else if (pick < 0.65) await this.layeredDag();
    else if (pick < 0.8) await this.kvWrite();
    else await this.delayedJob();
  }

  async setUp(): Promise<void> {
    const chatty = await this.call(
      async (c) => (await c.submit({ id: 'chaos-chatty', command: 'i=0; while [ $i -lt 20000 ]; do echo "line $i"; i=$((i+1)); done; echo last-line' })).jobId,
      'chaos-chatty',
    );
    this.accepted.chattyJob = chatty;
    const service = await this.call(
      async (c) =>
        (
          await c.submit({
            id: 'chaos-service',
            command: 'exec python3 -m http.server "$PORT" --bind 127.0.0.1',
            service: { port: null, restart: 'always', maxRestarts: 1000, windowSeconds: 60 },
          })
        ).jobId,
      'chaos-service',
    );
    if (service !== null) this.accepted.services.push(service);
    const schedule = await this.call(
      async (c) =>
        (
          await c.schedules.add(
            { name: 'chaos-cron', jobs: [{ key: 'tick', run: { kind: 'command', command: this.command(0.5) } }] },
            { cron: '*/15 * * * * *', overlap: 'skip', misfire: 'skip' },
          )
        ).id,
    );
    this.accepted.scheduleId = schedule;
  }

  async client_(): Promise<TitanClient> {
    if (this.client === null) {
      const { host, port } = this.address();
      this.client = await TitanClient.connect({ host, port, token: TOKEN });
    }
    return this.client;
  }

  close(): void {
    this.client?.close();
    this.client = null;
  }

  private async plainJob(): Promise<void> {
    const id = `chaos-j${++this.seq}`;
    const seconds = 0.5 + this.random.next() * 4.5;
    if ((await this.call((c) => c.submit({ id, command: this.command(seconds) }), id)) !== null) this.accepted.jobs.push(id);
  }

  private async delayedJob(): Promise<void> {
    const id = `chaos-d${++this.seq}`;
    if ((await this.call((c) => c.submit({ id, command: this.command(0.5 + this.random.next()), delaySeconds: 2 + this.random.int(6) }), id)) !== null)
      this.accepted.jobs.push(id);
  }

  /** Three layers, the last joined by all_done; DAG ids are the master's, so a failed submit is not retried. */
  private async layeredDag(): Promise<void> {
    const width = 2 + this.random.int(2);
    const layer = (n: number): string[] => Array.from({ length: width }, (_, i) => `l${n}x${i}`);
    const [a, b, c] = [layer(0), layer(1), ['sink']];
    const job = (key: string, parents: string[], rule: 'all_success' | 'all_done' = 'all_success') => ({
      key,
      parents,
      triggerRule: rule,
      run: { kind: 'command' as const, command: this.command(0.5 + this.random.next() * 2, parents) },
    });
    const jobs = [...a.map((k) => job(k, [])), ...b.map((k) => job(k, a)), ...c.map((k) => job(k, b, 'all_done'))];
    try {
      const client = await this.client_();
      const { dagId, jobIds } = await client.submitDag(`chaos-${++this.seq}`, jobs);
      this.accepted.dagJobs.set(dagId, jobIds);
    } catch {
      this.close();
    }
  }

  private async kvWrite(): Promise<void> {
    const key = `chaos-k${++this.seq}`;
    const value = String(this.random.int(1_000_000));
    if ((await this.call(async (c) => (await c.kv.put(key, value), key))) !== null) this.accepted.kv.set(key, value);
  }

  /**
   * Runs a call, retrying across master restarts (a fresh connection each time). With `id`, an
   * "already in use" answer means an earlier try was accepted: the id is returned. Null when it never was.
   */
  async call<T>(fn: (client: TitanClient) => Promise<T>, id?: string): Promise<T | string | null> {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        return await fn(await this.client_());
      } catch (err) {
        if (id !== undefined && /already in use/.test((err as Error).message)) return id;
        this.close();
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    return null;
  }
}
