import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TitanClient } from '../src/sdk/client.js';
import { clusterForSuite, TOKEN, type Cluster } from './harness.js';

// dist/test/ → the repository root, where examples/ and sdk-python/ live.
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLES = join(REPO, 'examples');
const SCRIPT_TIMEOUT_MS = 90_000;
const WAIT_MS = 60_000;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an example script against the cluster, killed (and failed) if it takes longer than SCRIPT_TIMEOUT_MS. */
function runExample(cluster: Cluster, command: string, args: readonly string[]): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TITAN_HOST: '127.0.0.1', TITAN_PORT: String(cluster.port), TITAN_TOKEN: TOKEN, PYTHONPATH: join(REPO, 'sdk-python') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${SCRIPT_TIMEOUT_MS} ms)`;
      child.kill('SIGKILL');
    }, SCRIPT_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function logLines(client: TitanClient, jobId: string): Promise<string[]> {
  const lines: string[] = [];
  await client.logs(jobId, (batch) => lines.push(...batch.map((l) => l.line)));
  return lines;
}

// Most examples are Python jobs: run both ways, forked from the warm interpreter and spawned (--no-warm).
for (const warm of [true, false]) {
  describe(`examples/ run against a real cluster (${warm ? 'warm' : '--no-warm'})`, () => {
    const args = warm ? [] : ['--no-warm'];
    const suite = clusterForSuite('general', args);
    const cluster = suite.cluster;

    test('(1) map-reduce: four Python mappers fan out, the reducer sums their parts', async () => {
      const { dagId } = await suite.client.submitPipeline(join(EXAMPLES, 'mapreduce', 'pipeline.yaml'));
      const done = await suite.client.waitDag(dagId, WAIT_MS);
      assert.equal(done.dag.state, 'succeeded', JSON.stringify(done.jobs.map((j) => [j.key, j.state, j.reason])));
      assert.ok((await logLines(suite.client, `${dagId}.reduce`)).includes('TOTAL 30'), '1² + 2² + 3² + 4²');
    });

    test('(2a) agent loop in Python heals the flaky job', async () => {
      const ran = await runExample(cluster, 'python3', [join(EXAMPLES, 'agent-loop.py')]);
      assert.equal(ran.code, 0, ran.stdout + ran.stderr);
      assert.match(ran.stdout, /attempt 1: failed/);
      assert.match(ran.stdout, /logs: ERROR: flag .* missing/);
      assert.match(ran.stdout, /^healed after 2 attempts$/m);
    });

    test('(2b) agent loop in TypeScript (built package) heals the flaky job', async () => {
      const ran = await runExample(cluster, process.execPath, [join(EXAMPLES, 'agent-loop.mjs')]);
      assert.equal(ran.code, 0, ran.stdout + ran.stderr);
      assert.match(ran.stdout, /attempt 1: failed/);
      assert.match(ran.stdout, /^healed after 2 attempts$/m);
    });

    test('(3) dynamic fan-out: the width comes from the first job, the jobs are added to the running DAG', async () => {
      const ran = await runExample(cluster, 'python3', [join(EXAMPLES, 'dynamic', 'fanout.py'), 'a', 'b', 'c', 'd', 'e', 'f']);
      assert.equal(ran.code, 0, ran.stdout + ran.stderr);
      assert.match(ran.stdout, /^plan decided width 6$/m);
      assert.match(ran.stdout, /^dynamic width 6: map-1 map-2 map-3 map-4 map-5 map-6$/m);
      assert.match(ran.stdout, /^total 91$/m, '1² + … + 6²');
    });

    test('(5) a service and a client job that calls it', async () => {
      const { dagId } = await suite.client.submitPipeline(join(EXAMPLES, 'service', 'pipeline.yaml'));
      try {
        const done = await suite.client.waitDag(dagId, WAIT_MS);
        assert.equal(done.dag.state, 'succeeded', JSON.stringify(done.jobs.map((j) => [j.key, j.state, j.reason])));
        assert.deepEqual(await logLines(suite.client, `${dagId}.client`), ['service answered sum=42']);
      } finally {
        await suite.client.stopService(`${dagId}.api`);
      }
    });

    // Last: once a GPU worker (which also takes GENERAL jobs) joins, DAG jobs may spread over two workers.
    test('(4) GPU routing: train runs only on the worker started with --tags GPU', async () => {
      await cluster.startWorker('gpu-box', { tags: 'GPU', slots: 2, args });
      const { dagId } = await suite.client.submitPipeline(join(EXAMPLES, 'gpu', 'pipeline.yaml'));
      const done = await suite.client.waitDag(dagId, WAIT_MS);
      assert.equal(done.dag.state, 'succeeded', JSON.stringify(done.jobs.map((j) => [j.key, j.state, j.reason])));
      assert.equal(done.jobs.find((j) => j.key === 'train')?.workerId, 'gpu-box');
      assert.match((await logLines(suite.client, `${dagId}.train`))[0] ?? '', /^training on a GPU worker/);
    });
  });
}
