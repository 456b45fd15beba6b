import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOKEN, clusterForSuite, until } from './harness.js';

describe('scripts, pipelines with files, project folders and growing a DAG, all over HTTP', () => {
  const suite = clusterForSuite('w1');
  const url = (path: string): string => `http://127.0.0.1:${suite.cluster.httpPort}${path}`;
  const headers = { authorization: `Bearer ${TOKEN}` };
  const upload = async (bytes: Uint8Array | string): Promise<string> => {
    const res = await fetch(url('/api/v1/artifacts'), { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: bytes });
    const body = (await res.json()) as { hash: string; size: number };
    assert.equal(res.status, 201, JSON.stringify(body));
    return body.hash;
  };
  const post = async <T>(path: string, body: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(url(path), { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as T };
  };
  const output = async (jobId: string): Promise<string[]> => (await suite.client.logs(jobId)).map((l) => l.line);

  test('an uploaded script runs as a job, and the same bytes give the same hash', async () => {
    const script = 'import sys\nprint("hello from", sys.argv[1])\n';
    const hash = await upload(script);
    assert.equal(await upload(script), hash);
    const back = await fetch(url(`/api/v1/artifacts/${hash}`), { headers });
    assert.equal(await back.text(), script);
    const { status, body } = await post<{ jobId: string }>('/api/v1/jobs', {
      name: 'py',
      run: { kind: 'script', fileName: 'hello.py', artifact: hash },
      args: ['http'],
    });
    assert.equal(status, 201);
    assert.equal((await suite.client.wait(body.jobId, 30_000)).state, 'succeeded');
    assert.deepEqual(await output(body.jobId), ['hello from http']);
  });

  test('a YAML pipeline with file: scripts and project: true runs from uploaded files and an uploaded folder', async () => {
    const folder = join(suite.cluster.dir, 'project');
    mkdirSync(join(folder, 'steps'), { recursive: true });
    writeFileSync(join(folder, 'data.txt'), '21\n');
    writeFileSync(join(folder, 'steps', 'double.sh'), 'echo "doubled $(( $(cat data.txt) * 2 ))"\n');
    const archive = execFileSync('tar', ['czf', '-', '-C', folder, '.']);
    const yaml =
      'name: from-http\nproject: true\njobs:\n  - id: double\n    file: steps/double.sh\n  - id: after\n    command: "cat data.txt"\n    depends_on: [double]\n';
    const files = { 'steps/double.sh': await upload(readFileSync(join(folder, 'steps', 'double.sh'))) };
    const { status, body } = await post<{ dagId: string }>('/api/v1/dags', { yaml, files, project: await upload(archive) });
    assert.equal(status, 201, JSON.stringify(body));
    assert.equal((await suite.client.waitDag(body.dagId, 30_000)).dag.state, 'succeeded');
    assert.deepEqual(await output(`${body.dagId}.double`), ['doubled 42']);
    assert.deepEqual(await output(`${body.dagId}.after`), ['21']);
  });

  test('a pipeline whose script was not sent, or whose hash the master lacks, is refused naming the file and the fix', async () => {
    const yaml = 'name: missing\njobs:\n  - id: a\n    file: a.sh\n';
    const unsent = await post<{ error: string }>('/api/v1/dags', { yaml });
    assert.equal(unsent.status, 400);
    assert.match(unsent.body.error, /job a \(line 3\): file a\.sh was not sent: POST its bytes to \/api\/v1\/artifacts and name the hash in "files"/);
    const unknown = await post<{ error: string }>('/api/v1/dags', { yaml, files: { 'a.sh': 'f'.repeat(64) } });
    assert.match(unknown.body.error, /no artifact f{64} on this master; upload the bytes first/);
    const noFolder = await post<{ error: string }>('/api/v1/dags', { yaml: 'name: p\nproject: true\njobs: [{ id: a, command: "true" }]\n' });
    assert.match(noFolder.body.error, /project: true needs the pipeline folder: POST it as a \.tar\.gz/);
    const notBytes = await fetch(url('/api/v1/artifacts'), { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(notBytes.status, 400);
  });

  test('a running DAG grows over HTTP: the added job depends on one of its jobs and runs after it', async () => {
    const gate = 'name: grows\njobs:\n  - id: first\n    command: "sleep 1; echo first"\n';
    const { body } = await post<{ dagId: string }>('/api/v1/dags', { yaml: gate });
    const more = 'name: more\njobs:\n  - id: second\n    file: second.sh\n    depends_on: [first]\n';
    const added = await post<{ jobIds: string[] }>(`/api/v1/dags/${body.dagId}/jobs`, { yaml: more, files: { 'second.sh': await upload('echo second\n') } });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.deepEqual(added.body.jobIds, [`${body.dagId}.second`]);
    const bad = await post<{ error: string }>(`/api/v1/dags/${body.dagId}/jobs`, {
      yaml: 'name: x\njobs:\n  - id: third\n    command: "true"\n    depends_on: [nowhere]\n',
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /nowhere/);
    const final = await until(
      'the grown DAG to finish',
      async () => {
        const status = await suite.client.dagStatus(body.dagId);
        return status.dag.state !== 'running' ? status : undefined;
      },
      30_000,
    );
    assert.equal(final.dag.state, 'succeeded');
    const second = final.jobs.find((j) => j.key === 'second');
    const first = final.jobs.find((j) => j.key === 'first');
    assert.ok(second !== undefined && first !== undefined && (second.startedAt ?? 0) >= (first.finishedAt ?? Infinity));
    assert.deepEqual(await output(`${body.dagId}.second`), ['second']);
  });
});
