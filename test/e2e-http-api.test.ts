import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, TOKEN, until } from './harness.js';

interface Job {
  id: string;
  state: string;
  workerId: string | null;
  dagId: string | null;
  name: string;
  reason: string | null;
  exitCode: number | null;
}

describe('the REST API under /api/v1', () => {
  const cluster = new Cluster();
  const url = (path: string): string => `http://127.0.0.1:${cluster.httpPort}${path}`;
  const api = async <T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> => {
    const res = await fetch(url(path), {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${TOKEN}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as T };
  };
  const job = async (id: string): Promise<Job> => (await api<{ job: Job }>(`/api/v1/jobs/${id}`)).body.job;
  const settled = (id: string, state = 'succeeded'): Promise<Job> =>
    until(`job ${id} to be ${state}`, async () => {
      const j = await job(id);
      return j.state === state ? j : undefined;
    });

  before(async () => {
    await cluster.startMaster();
    await cluster.startWorker('w1', { tags: 'GENERAL,GPU', slots: 2 });
    await cluster.startWorker('w2', { slots: 2 });
  });
  after(() => cluster.close());

  test('lists the workers with their tags, slots and health, and the cluster with its queues', async () => {
    const { status, body } = await api<{ workers: { id: string; tags: string[]; slots: number; health: string }[] }>('/api/v1/workers');
    assert.equal(status, 200);
    const w1 = body.workers.find((w) => w.id === 'w1');
    assert.deepEqual([w1?.tags.sort(), w1?.slots, w1?.health], [['GENERAL', 'GPU'], 2, 'healthy']);
    assert.ok(body.workers.some((w) => w.id === 'w2'));
    const vitals = await until('a heartbeat with load and free memory', async () =>
      (await api<{ workers: { id: string; load1: number | null; freeMemoryMb: number | null }[] }>('/api/v1/workers')).body.workers.find(
        (w) => w.id === 'w1' && w.load1 !== null,
      ),
    );
    assert.ok(typeof vitals.load1 === 'number' && typeof vitals.freeMemoryMb === 'number' && vitals.freeMemoryMb > 0);
    const cluster = await api<{ queues: object; jobs: Record<string, number> }>('/api/v1/cluster');
    assert.equal(typeof cluster.body.jobs.succeeded, 'number');
  });

  test('a job submitted over HTTP runs; its page has attempts, and its log reads as JSON pages and as a download', async () => {
    const submitted = await api<{ jobId: string }>('/api/v1/jobs', {
      method: 'POST',
      body: { name: 'hello-http', run: { kind: 'command', command: 'echo one; echo two; exit 0' } },
    });
    assert.equal(submitted.status, 201);
    const id = submitted.body.jobId;
    await settled(id);
    const detail = await api<{
      job: Job;
      attempts: { attempt: number; workerId: string; state: string; startedAt: number; finishedAt: number }[];
      events: unknown[];
    }>(`/api/v1/jobs/${id}`);
    assert.equal(detail.body.attempts.length, 1);
    const [attempt] = detail.body.attempts;
    assert.equal(attempt?.state, 'succeeded');
    assert.ok(attempt !== undefined && ['w1', 'w2'].includes(attempt.workerId) && attempt.finishedAt >= attempt.startedAt);
    const logs = await api<{ lines: { seq: number; line: string }[]; lastSeq: number }>(`/api/v1/jobs/${id}/logs`);
    assert.deepEqual(
      logs.body.lines.map((l) => l.line),
      ['one', 'two'],
    );
    const rest = await api<{ lines: unknown[] }>(`/api/v1/jobs/${id}/logs?after=${logs.body.lines[0]!.seq}`);
    assert.equal(rest.body.lines.length, 1, 'after= skips what was read');
    const download = await fetch(url(`/api/v1/jobs/${id}/logs/download`), { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.match(download.headers.get('content-disposition') ?? '', /attachment; filename=".+\.log"/);
    assert.equal(await download.text(), 'one\ntwo\n');
  });

  test('jobs are filtered by state, DAG, worker and text, and paged with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(
        (await api<{ jobId: string }>('/api/v1/jobs', { method: 'POST', body: { name: `page-${i}`, run: { kind: 'command', command: 'true' } } })).body.jobId,
      );
    for (const id of ids) await settled(id);
    const first = await api<{ jobs: Job[]; nextCursor: number | null }>('/api/v1/jobs?q=page-&limit=3');
    assert.deepEqual(
      first.body.jobs.map((j) => j.name),
      ['page-4', 'page-3', 'page-2'],
    );
    assert.notEqual(first.body.nextCursor, null);
    const second = await api<{ jobs: Job[]; nextCursor: number | null }>(`/api/v1/jobs?q=page-&limit=3&cursor=${first.body.nextCursor}`);
    assert.deepEqual(
      second.body.jobs.map((j) => j.name),
      ['page-1', 'page-0'],
    );
    assert.equal(second.body.nextCursor, null);
    const byWorker = await api<{ jobs: Job[] }>('/api/v1/jobs?worker=w2&limit=100');
    assert.ok(byWorker.body.jobs.every((j) => j.workerId === 'w2'));
    const none = await api<{ jobs: Job[] }>('/api/v1/jobs?state=running,queued&q=page-');
    assert.deepEqual(none.body.jobs, []);
    const bad = await api<{ code: string; error: string }>('/api/v1/jobs?state=finished');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /state/);
  });

  test('a YAML pipeline submitted over HTTP shows its graph; approve unblocks the gated node', async () => {
    const yaml = [
      'name: http-release',
      'jobs:',
      '  - id: build',
      '    command: "echo built"',
      '  - id: deploy',
      '    command: "echo deployed"',
      '    depends_on: [build]',
      '    approval: { message: "ship it?", timeout: 600 }',
      '',
    ].join('\n');
    const submitted = await api<{ dagId: string }>('/api/v1/dags', { method: 'POST', body: { yaml } });
    assert.equal(submitted.status, 201);
    const { dagId } = submitted.body;
    const graph = await api<{ dag: { name: string }; jobs: { key: string }[]; edges: { from: string; to: string }[] }>(`/api/v1/dags/${dagId}`);
    assert.equal(graph.body.dag.name, 'http-release');
    assert.deepEqual(graph.body.edges, [{ from: 'build', to: 'deploy' }]);
    await until('deploy to await approval', async () => /awaiting approval/.test((await job(`${dagId}.deploy`)).reason ?? ''));
    const byDag = await api<{ jobs: Job[] }>(`/api/v1/jobs?dag=${dagId}`);
    assert.deepEqual(byDag.body.jobs.map((j) => j.id).sort(), [`${dagId}.build`, `${dagId}.deploy`]);
    const approved = await api<Job>(`/api/v1/jobs/${dagId}.deploy/approve`, { method: 'POST', body: { by: 'carol' } });
    assert.equal(approved.status, 200);
    await settled(`${dagId}.deploy`);
    const dags = await api<{ dags: { id: string; state: string }[] }>('/api/v1/dags');
    assert.equal(dags.body.dags.find((d) => d.id === dagId)?.state, 'succeeded');
  });

  test('a pipeline with problems is refused with every problem and its line', async () => {
    const res = await api<{ code: string; error: string }>('/api/v1/dags', {
      method: 'POST',
      body: { yaml: 'name: broken\njobs:\n  - id: a\n    command: "true"\n    depends_on: [nope]\n' },
    });
    assert.equal(res.status, 400);
    assert.match(res.body.error, /pipeline\.yaml:\d+: .*nope/);
    const files = await api<{ error: string }>('/api/v1/dags', { method: 'POST', body: { yaml: 'name: f\njobs:\n  - id: a\n    file: a.py\n' } });
    assert.equal(files.status, 400);
    assert.match(files.body.error, /file a\.py was not sent: POST its bytes to \/api\/v1\/artifacts/);
  });

  test('a failing job lands in the DLQ and a retry from there runs it again', async () => {
    const { jobId } = (
      await api<{ jobId: string }>('/api/v1/jobs', { method: 'POST', body: { name: 'doomed', run: { kind: 'command', command: 'exit 7' }, retries: 1 } })
    ).body;
    const dead = await settled(jobId, 'dead');
    assert.equal(dead.exitCode, 7);
    const before = (await api<{ attempts: unknown[] }>(`/api/v1/jobs/${jobId}`)).body.attempts.length;
    assert.equal(before, 2, 'one attempt and one retry');
    const dlq = await api<{ jobs: Job[] }>('/api/v1/dlq');
    assert.ok(dlq.body.jobs.some((j) => j.id === jobId));
    const retried = await api<Job>(`/api/v1/dlq/${jobId}/retry`, { method: 'POST' });
    assert.equal(retried.status, 200);
    await until('the retry to run and die again', async () => {
      const detail = (await api<{ attempts: unknown[]; job: Job }>(`/api/v1/jobs/${jobId}`)).body;
      return detail.attempts.length > before && detail.job.state === 'dead';
    });
  });

  test('a service is listed with its port and stopped over HTTP', async () => {
    const command = `node -e "require('http').createServer((q,s)=>s.end('ok')).listen(process.env.PORT)"`;
    const { jobId } = (
      await api<{ jobId: string }>('/api/v1/jobs', { method: 'POST', body: { name: 'web', run: { kind: 'command', command }, service: { port: null } } })
    ).body;
    const listed = await until('the service to be ready', async () =>
      (await api<{ services: { id: string; ready: boolean; port: number | null }[] }>('/api/v1/services')).body.services.find((s) => s.id === jobId && s.ready),
    );
    assert.equal(await (await fetch(`http://127.0.0.1:${listed.port}/`)).text(), 'ok');
    assert.equal((await api(`/api/v1/services/${jobId}/stop`, { method: 'POST' })).status, 200);
    await until('the service to be stopped', async () => ['stopped', 'cancelled', 'succeeded'].includes((await job(jobId)).state));
    assert.ok(!(await api<{ services: { id: string }[] }>('/api/v1/services')).body.services.some((s) => s.id === jobId));
  });

  test('the KV store reads, writes and deletes keys', async () => {
    assert.equal((await api('/api/v1/kv/greeting', { method: 'PUT', body: { value: 'hi' } })).status, 200);
    assert.deepEqual((await api<{ value: string | null }>('/api/v1/kv/greeting')).body.value, 'hi');
    assert.equal((await api<{ deleted: boolean }>('/api/v1/kv/greeting', { method: 'DELETE' })).body.deleted, true);
    assert.equal((await api<{ value: string | null }>('/api/v1/kv/greeting')).body.value, null);
    const bad = await api<{ error: string }>('/api/v1/kv/x', { method: 'PUT', body: { value: 3 } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /body: value/);
  });

  test('schedules are added, paused, resumed and removed', async () => {
    const added = await api<{ schedule: { id: string; paused: boolean } }>('/api/v1/schedules', {
      method: 'POST',
      body: { name: 'nightly', cron: '0 3 * * *', jobs: [{ key: 'a', run: { kind: 'command', command: 'true' } }] },
    });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    const id = added.body.schedule.id;
    assert.equal((await api<{ schedule: { paused: boolean } }>(`/api/v1/schedules/${id}/pause`, { method: 'POST' })).body.schedule.paused, true);
    assert.equal((await api<{ schedule: { paused: boolean } }>(`/api/v1/schedules/${id}/resume`, { method: 'POST' })).body.schedule.paused, false);
    assert.ok((await api<{ schedules: { id: string }[] }>('/api/v1/schedules')).body.schedules.some((s) => s.id === id));
    assert.equal((await api(`/api/v1/schedules/${id}`, { method: 'DELETE' })).status, 200);
  });

  test('DAGs submitted under one agent_run_id are grouped into one agent run with every job', async () => {
    const yaml = (name: string): string =>
      `name: ${name}\njobs:\n  - id: think\n    command: "true"\n  - id: act\n    command: "true"\n    depends_on: [think]\n`;
    const first = (await api<{ dagId: string }>('/api/v1/dags', { method: 'POST', body: { yaml: yaml('plan') } })).body.dagId;
    const second = (await api<{ dagId: string }>('/api/v1/dags', { method: 'POST', body: { yaml: yaml('fix') } })).body.dagId;
    const client = await cluster.client();
    await client.kv.sadd('titan:agent-run:run-42', [first]);
    const viaSdk = await client.submitDag('fix', [{ key: 'think', run: { kind: 'command', command: 'true' } }], { agentRunId: 'run-42' });
    await client.kv.sadd('titan:agent-run:run-42', [second]);
    await settled(`${second}.act`);
    await settled(`${first}.act`);
    await settled(`${viaSdk.dagId}.think`);
    const list = await api<{ agentRuns: { agentRunId: string; dags: number; state: string }[] }>('/api/v1/agent-runs');
    const listed = list.body.agentRuns.find((r) => r.agentRunId === 'run-42');
    assert.deepEqual([listed?.dags, listed?.state], [3, 'succeeded']);
    const run = await api<{ runs: { dag: { id: string }; jobs: { key: string }[] }[] }>('/api/v1/agent-runs/run-42');
    const byId = (pairs: [string, string[]][]): [string, string[]][] => pairs.sort((a, b) => a[0].localeCompare(b[0]));
    assert.deepEqual(
      byId(run.body.runs.map((r) => [r.dag.id, r.jobs.map((j) => j.key)])),
      byId([
        [first, ['think', 'act']],
        [second, ['think', 'act']],
        [viaSdk.dagId, ['think']],
      ]),
    );
    assert.equal((await api('/api/v1/agent-runs/nobody')).status, 404);
  });

  test("a namespaced token sees only its namespace's DAGs in agent runs, never another team's", async () => {
    const client = await cluster.client();
    const other = await client.submitDag('other-team', [{ key: 'x', run: { kind: 'command', command: 'true' } }], { agentRunId: 'run-ns' });
    const teamToken = await cluster.apiToken('team-b-runs', 'operator', 'team-b');
    const team = await cluster.clientWith(teamToken);
    const own = await team.submitDag('mine', [{ key: 'y', run: { kind: 'command', command: 'true' } }]);
    await client.kv.sadd('titan:agent-run:run-ns', [own.dagId]);
    const asTeam = async <T>(path: string): Promise<{ status: number; body: T }> => {
      const res = await fetch(url(path), { headers: { authorization: `Bearer ${teamToken}` } });
      return { status: res.status, body: (await res.json()) as T };
    };
    const listed = (await asTeam<{ agentRuns: { agentRunId: string; dags: number }[] }>('/api/v1/agent-runs')).body.agentRuns;
    assert.deepEqual(
      listed.map((r) => [r.agentRunId, r.dags]),
      [['run-ns', 1]],
      'run-42 (no team-b DAG) is not listed; run-ns counts only its own DAG',
    );
    const run = await asTeam<{ runs: { dag: { id: string } }[] }>('/api/v1/agent-runs/run-ns');
    assert.deepEqual(
      run.body.runs.map((r) => r.dag.id),
      [own.dagId],
    );
    assert.ok(!JSON.stringify(run.body).includes(other.dagId), "nothing of the other team's DAG");
    const hidden = await asTeam<{ code: string }>('/api/v1/agent-runs/run-42');
    assert.deepEqual([hidden.status, hidden.body.code], [404, 'E_UNKNOWN_JOB']);
    assert.equal((await api<{ runs: unknown[] }>('/api/v1/agent-runs/run-ns')).body.runs.length, 2, 'the cluster token sees both');
  });

  test('unknown jobs are 404 and bad bodies 400, each naming the problem', async () => {
    const missing = await api<{ code: string; error: string }>('/api/v1/jobs/no-such-job');
    assert.deepEqual([missing.status, missing.body.code], [404, 'E_UNKNOWN_JOB']);
    const bad = await api<{ code: string; error: string }>('/api/v1/jobs', { method: 'POST', body: { run: { kind: 'command' } } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /run\.command/);
    const notJson = await fetch(url('/api/v1/jobs'), {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{nope',
    });
    assert.equal(notJson.status, 400);
    assert.equal((await api('/readyz')).status, 200, 'the master is still up');
  });

  test('the dashboard is served without a token from the built files, and nothing outside them is', async () => {
    const index = await fetch(url('/'));
    assert.equal(index.status, 200);
    const html = await index.text();
    assert.match(html, /<div id="app">/);
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script !== undefined, 'the page names its bundle');
    const bundle = await fetch(url(`/${script}`));
    assert.deepEqual([bundle.status, bundle.headers.get('content-type')], [200, 'text/javascript; charset=utf-8']);
    assert.doesNotMatch(await bundle.text(), /https?:\/\/(cdn|unpkg|esm\.sh)/, 'nothing is loaded from a CDN');
    for (const path of ['/assets/..%2F..%2Fpackage.json', '/assets/%2e%2e/%2e%2e/src/cli/main.js', '/assets/nope.js']) {
      assert.equal((await fetch(url(path))).status, 404, path);
    }
  });

  test('/metrics speaks the Prometheus format with jobs, queues, workers, latencies and process metrics', async () => {
    const res = await fetch(url('/metrics'), { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^titan_jobs\{state="succeeded"\} [1-9]\d*$/m);
    assert.match(text, /^titan_workers\{health="healthy"\} 2$/m);
    assert.match(text, /^titan_dispatch_latency_seconds_count [1-9]\d*$/m);
    assert.match(text, /^titan_store_write_seconds_count [1-9]\d*$/m);
    assert.match(text, /^# TYPE titan_queue_depth gauge$/m);
    assert.match(text, /^# TYPE titan_service_restarts gauge$/m);
    assert.match(text, /^titan_master_process_resident_memory_bytes \d+/m);
    assert.equal((await fetch(url('/metrics'))).status, 401, 'the scrape needs the token');
  });
});
