import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Opcode } from '../src/protocol/opcodes.js';
import type { Peer } from '../src/protocol/peer.js';
import { connectPeer } from '../src/sdk/connect.js';
import type { TitanClient } from '../src/sdk/client.js';
import { Cluster } from './harness.js';
import { metrics, whilePolling } from './hostile-bodies.js';

const MiB = 1024 * 1024;
/** Generous: the point is that the master keeps answering, not how fast on a shared machine. */
const MAX_LOOP_LAG_S = 1;

function write(dir: string, name: string, text: string): string {
  mkdirSync(join(dir, name, '..'), { recursive: true });
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

async function lines(client: TitanClient, jobId: string): Promise<string[]> {
  return (await client.logs(jobId)).map((l) => l.line);
}

describe('PIPELINE_SUBMIT: the master parses the pipelines clients send', () => {
  const cluster = new Cluster();
  let client: TitanClient;
  let peer: Peer;
  before(async () => {
    await cluster.startMaster();
    await cluster.startWorker('pipeline-w1', { slots: 2 });
    client = await cluster.client();
    peer = (await connectPeer({ host: '127.0.0.1', port: cluster.port, token: cluster.token, role: 'client' })).peer;
  });
  after(async () => {
    peer.close();
    await cluster.close();
  });

  test('a pipeline naming a script is answered with what to upload, then runs once the script is sent', async () => {
    const yaml = 'name: two-steps\njobs:\n  - id: hello\n    file: ./steps/hello.sh\n  - id: after\n    command: "echo after"\n    depends_on: [hello]\n';
    const first = await peer.request(Opcode.PIPELINE_SUBMIT, { yaml, source: 'two.yaml' });
    assert.deepEqual(first, { missing: { files: [{ path: 'steps/hello.sh', job: 'hello', line: 3 }], project: false } }, 'nothing submitted yet');
    const artifact = await client.upload(Buffer.from('echo "hello from a script"\n'));
    const submitted = (await peer.request(Opcode.PIPELINE_SUBMIT, { yaml, source: 'two.yaml', files: { 'steps/hello.sh': artifact } })) as {
      dagId: string;
      jobIds: string[];
    };
    assert.deepEqual(submitted.jobIds, [`${submitted.dagId}.hello`, `${submitted.dagId}.after`]);
    assert.equal((await client.waitDag(submitted.dagId, 30_000)).dag.state, 'succeeded');
    assert.deepEqual(await lines(client, `${submitted.dagId}.hello`), ['hello from a script']);
  });

  test('the SDK and titan dag send the file and its scripts: the DAG runs, and a pipeline added to it may depend on its jobs', async () => {
    const dir = join(cluster.dir, 'sdk-run');
    write(dir, 'scripts/produce.sh', 'echo produced\n');
    const file = write(dir, 'run.yaml', 'name: sdk-run\njobs:\n  - id: produce\n    file: scripts/produce.sh\n  - id: gate\n    command: "sleep 1"\n');
    const { dagId } = await client.submitPipeline(file);
    const more = write(dir, 'more.yaml', 'name: more\njobs:\n  - id: consume\n    command: "echo consumed"\n    depends_on: [produce, gate]\n');
    assert.deepEqual((await client.addPipeline(dagId, more)).jobIds, [`${dagId}.consume`]);
    assert.equal((await client.waitDag(dagId, 30_000)).dag.state, 'succeeded');
    assert.deepEqual(await lines(client, `${dagId}.produce`), ['produced']);
    assert.deepEqual(await lines(client, `${dagId}.consume`), ['consumed']);

    const cli = await cluster.cli(['dag', file, '--wait']);
    assert.equal(cli.code, 0, cli.stderr);
  });

  test('a pipeline with several mistakes is refused with every one at file:line, the same text over TCP, the SDK and titan dag', async () => {
    const dir = join(cluster.dir, 'mistakes');
    const file = write(
      dir,
      'bad.yaml',
      [
        'name: broken',
        'jobs:',
        '  - id: a',
        '    command: "true"',
        '    depend_on: [b]',
        '  - id: b',
        '    command: "true"',
        '    depends_on: [c]',
        '  - id: c',
        '    command: "true"',
        '    depends_on: [b]',
        '    priority: high',
        '  - id: d',
        '    command: "true"',
        '    trigger_rule: maybe',
        '',
      ].join('\n'),
    );
    const before = (await client.listDags()).length;
    const sdk = await client.submitPipeline(file).then(
      () => assert.fail('accepted'),
      (err: Error & { code?: string }) => err,
    );
    assert.equal(sdk.code, 'E_INVALID_REQUEST');
    const problems = sdk.message.split('\n').slice(1);
    assert.match(sdk.message, /^4 problem\(s\) in the pipeline:\n/);
    assert.match(problems[0] ?? '', new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5: unknown key "depend_on" .*did you mean "depends_on"`));
    assert.equal(problems.filter((p) => p.startsWith(`${file}:`)).length, 4, sdk.message);
    assert.ok(
      problems.some((p) => /:\d+: .*cycle.*(b → c → b|c → b → c)/.test(p)),
      sdk.message,
    );
    assert.ok(
      problems.some((p) => p.startsWith(`${file}:12: `) && p.includes('priority')),
      sdk.message,
    );
    assert.ok(
      problems.some((p) => p.startsWith(`${file}:15: `) && p.includes('trigger_rule')),
      sdk.message,
    );

    const cli = await cluster.cli(['dag', file]);
    assert.equal(cli.code, 2);
    for (const problem of problems) assert.ok(cli.stderr.includes(problem), `titan dag prints ${problem}\n${cli.stderr}`);
    await assert.rejects(
      peer.request(Opcode.PIPELINE_SUBMIT, { yaml: 'name: x\njobs: []\n', source: 'given-name.yaml' }),
      /given-name\.yaml:2: jobs is empty; add at least one job/,
    );
    assert.equal((await client.listDags()).length, before, 'no DAG was created');
  });

  test('a viewer may not submit a pipeline, and a namespaced operator gets ids in its namespace', async () => {
    const viewer = await cluster.clientWith(await cluster.apiToken('pipeline-viewer', 'viewer'));
    const file = write(join(cluster.dir, 'roles'), 'p.yaml', 'name: roles\njobs:\n  - id: a\n    command: "true"\n');
    await assert.rejects(
      viewer.submitPipeline(file),
      (err: Error & { code?: string }) =>
        err.code === 'E_FORBIDDEN' && /PIPELINE_SUBMIT refused for pipeline-viewer: role viewer may not submit/.test(err.message),
    );
    const team = await cluster.clientWith(await cluster.apiToken('pipeline-team', 'operator', 'team'));
    const { dagId } = await team.submitPipeline(file);
    assert.match(dagId, /^team\./);
    const other = await client.submitPipeline(file);
    await assert.rejects(team.addPipeline(other.dagId, file), (err: Error & { code?: string }) => err.code === 'E_FORBIDDEN');
  });

  /** Sends `yaml` as PIPELINE_SUBMIT while /healthz is polled; asserts the master answered every poll without a stall. */
  async function refusedWithoutStall(yaml: string, message: RegExp): Promise<void> {
    await metrics(cluster.httpPort, cluster.token); // resets the loop-lag histogram
    const { result, polls } = await whilePolling(cluster.httpPort, () =>
      peer.request(Opcode.PIPELINE_SUBMIT, { yaml, source: 'big.yaml' }).then(
        () => assert.fail('accepted'),
        (err: Error) => err,
      ),
    );
    assert.match(result.message, message);
    assert.deepEqual(
      polls.filter((p) => p.status !== 200),
      [],
      'every /healthz poll is answered',
    );
    const lag = (await metrics(cluster.httpPort, cluster.token)).get('titan_master_nodejs_eventloop_lag_max_seconds');
    assert.ok(lag !== undefined && lag < MAX_LOOP_LAG_S, `loop lag max ${lag} s`);
  }

  test('a huge, a key-heavy or a deeply nested pipeline is refused naming the limit, and the master keeps answering', async () => {
    const env = (n: number): string => Array.from({ length: n }, (_, i) => `K${i}: v`).join(', ');
    await refusedWithoutStall(`name: p\n# ${'x'.repeat(2 * MiB)}\njobs: []\n`, /over the 1048576-byte limit; .*raise --max-pipeline-size on titan master/);
    await refusedWithoutStall(`name: p\njobs:\n  - id: a\n    command: "true"\n    env: {${env(32_000)}}\n`, /more than 20000 map keys; .*--max-pipeline-keys/);
    await refusedWithoutStall(
      `name: p\njobs: ${'['.repeat(MiB - 100)}`,
      /big\.yaml:2: collections nest deeper than 64 levels; .*--max-pipeline-depth on titan master/,
    );
    await refusedWithoutStall(`name: p\njobs:\n  - id: a\n    command: "true"\n    env: {${env(5_000)}}\n`, /env.*at most 1000 variables/);
  });
});
