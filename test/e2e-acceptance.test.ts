import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { TitanClient } from '../src/sdk/client.js';
import { clusterForSuite } from './harness.js';

const PIPELINES = fileURLToPath(new URL('../../test/fixtures/pipelines/', import.meta.url));

async function outputOf(client: TitanClient, jobId: string): Promise<string[]> {
  const lines: string[] = [];
  await client.logs(jobId, (batch) => lines.push(...batch.map((l) => l.line)));
  return lines;
}

describe('the acceptance pipelines in test/fixtures, through `titan dag <file> --wait`', () => {
  const suite = clusterForSuite('general');
  const cluster = suite.cluster;

  async function runPipeline(name: string): Promise<{ code: number | null; dagId: string; stdout: string; stderr: string }> {
    const result = await cluster.cli(['dag', `${PIPELINES}${name}`, '--wait']);
    const dagId = /DAG (d\w+)/.exec(result.stdout)?.[1] ?? '';
    return { ...result, dagId };
  }

  test("diamond: the sink reads both branches' files from the shared folder", async () => {
    const run = await runPipeline('diamond.yaml');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /"diamond": succeeded \(4\/4/);
    const lines = await outputOf(suite.client, `${run.dagId}.sink`);
    assert.deepEqual(lines, ['left', 'right']);
  });

  test('fanout: the reducer totals what the four mappers wrote', async () => {
    const run = await runPipeline('fanout.yaml');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual(await outputOf(suite.client, `${run.dagId}.reducer`), ['TOTAL 10']);
  });

  test('retry: the flaky job fails twice and succeeds on attempt 3', async () => {
    const run = await runPipeline('retry.yaml');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const flaky = await suite.client.status(`${run.dagId}.flaky`);
    assert.equal(flaky.attempt, 3);
    assert.deepEqual(await outputOf(suite.client, `${run.dagId}.flaky`), ['attempt 1 fails', 'attempt 2 fails', 'attempt 3 succeeds']);
  });

  test('gpu: train waits while no GPU worker is up, then runs only on the GPU worker', async () => {
    const submitted = await cluster.cli(['dag', `${PIPELINES}gpu.yaml`, '--json']);
    const { dagId } = JSON.parse(submitted.stdout) as { dagId: string };
    const prep = await suite.client.wait(`${dagId}.prep`);
    assert.equal(prep.state, 'succeeded');
    const waiting = await suite.client.status(`${dagId}.train`);
    assert.equal(waiting.state, 'queued');
    assert.match(waiting.reason ?? '', /no live worker has them/);
    await cluster.startWorker('gpu', { tags: 'GPU' });
    const done = await suite.client.waitDag(dagId);
    assert.equal(done.dag.state, 'succeeded');
    assert.equal(done.jobs.find((j) => j.key === 'train')?.workerId, 'gpu');
  });

  test('service: the client job reads pong from the service over HTTP; the service keeps running', async () => {
    const run = await runPipeline('service.yaml');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual(await outputOf(suite.client, `${run.dagId}.client`), ['pong']);
    const services = await suite.client.services();
    const api = services.find((s) => s.id === `${run.dagId}.api`);
    assert.equal(api?.ready, true);
    await suite.client.stopService(`${run.dagId}.api`);
  });
});
