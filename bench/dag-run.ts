/**
 * A 10,000-job DAG of /bin/true (layers 1 → 5,000 → 4,998 → 1) through the cluster, timed from
 * submission to the DAG's end as the client sees it; its floor is the same number of raw spawns
 * at 8 in flight, measured in the same run.
 */
import type { DagJobRequest } from '../src/protocol/messages.js';
import type { TitanClient } from '../src/sdk/client.js';
import { floorThroughput } from './floor.js';
import { now, within } from './measure.js';

export interface DagRunFigures {
  readonly jobs: number;
  readonly titanSeconds: number;
  readonly floorSeconds: number;
  /** The master's longest loop stall while it admitted the DAG (submit to answer), from its /metrics; null without HTTP. */
  readonly submitLoopLagMaxMs: number | null;
}

/** The master's worst event-loop delay since the last scrape, in ms (each scrape resets it), or null without its HTTP port. */
async function loopLagMaxMs(httpPort: number, token: string): Promise<number | null> {
  if (httpPort === 0) return null;
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  const match = /^titan_master_nodejs_eventloop_lag_max_seconds ([0-9.e+-]+)$/m.exec(await res.text());
  return match === null ? null : Math.round(Number(match[1]) * 1000 * 10) / 10;
}

function layeredDag(first: number, second: number): DagJobRequest[] {
  const job = (key: string, parents: string[]): DagJobRequest => ({ key, run: { kind: 'command', command: '/bin/true' }, parents });
  const jobs: DagJobRequest[] = [job('start', [])];
  for (let i = 0; i < first; i++) jobs.push(job(`a${i}`, ['start']));
  // Each job of the second layer waits for two of the first, so the layers overlap as they would in a real pipeline.
  for (let i = 0; i < second; i++) jobs.push(job(`b${i}`, [`a${i}`, `a${(i + 1) % first}`]));
  jobs.push(
    job(
      'end',
      Array.from({ length: second }, (_, i) => `b${i}`),
    ),
  );
  return jobs;
}

/**
 * The master's worst loop stall while it admits the DAG alone: a copy held for an hour (so none
 * of its jobs starts, and the stall of its first job's 5,000 children opening at once is not
 * counted), submitted between two scrapes, then cancelled.
 */
async function admissionLoopLagMaxMs(
  client: TitanClient,
  jobs: DagJobRequest[],
  limitMs: number,
  metrics: { httpPort: number; token: string },
): Promise<number | null> {
  if (metrics.httpPort === 0) return null;
  await loopLagMaxMs(metrics.httpPort, metrics.token); // resets the master's histogram
  const { dagId } = await within('submitting the held DAG', limitMs, client.submitDag('bench-10k-held', jobs, { runAt: new Date(Date.now() + 3_600_000) }));
  const lag = await loopLagMaxMs(metrics.httpPort, metrics.token);
  await within('cancelling the held DAG', limitMs, client.cancelDag(dagId));
  return lag;
}

export async function dagTenThousand(client: TitanClient, limitMs: number, inFlight = 8, metrics = { httpPort: 0, token: '' }): Promise<DagRunFigures> {
  const jobs = layeredDag(5_000, 4_998);
  const submitLoopLagMaxMs = await admissionLoopLagMaxMs(client, jobs, limitMs, metrics);
  const t0 = now();
  const { dagId } = await within('submitting the DAG', limitMs, client.submitDag('bench-10k', jobs));
  const final = await within('the 10k DAG', limitMs, client.waitDag(dagId));
  const titanSeconds = (now() - t0) / 1000;
  if (final.dag.state !== 'succeeded') throw new Error(`the 10k DAG ended ${final.dag.state} with ${final.dag.failed} failed jobs`);
  const floorRate = await floorThroughput(jobs.length, inFlight, limitMs);
  return { jobs: jobs.length, titanSeconds, floorSeconds: jobs.length / floorRate, submitLoopLagMaxMs };
}
