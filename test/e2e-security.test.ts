import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TitanClient } from '../src/sdk/client.js';
import { connectPeer } from '../src/sdk/connect.js';
import { Cluster, TOKEN, codeOf, until } from './harness.js';
import { Opcode } from '../src/protocol/opcodes.js';

describe('roles, namespaces, revocation and the audit ledger', () => {
  const cluster = new Cluster();
  const tokens: Record<string, string> = {};
  const as = (name: string): Promise<TitanClient> => cluster.clientWith(tokens[name]!);
  const http = (path: string, token: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`http://127.0.0.1:${cluster.httpPort}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) } });

  before(async () => {
    await cluster.startMaster();
    for (const [name, role, namespace] of [
      ['ci', 'viewer'],
      ['ops', 'operator'],
      ['boss', 'admin'],
      ['team', 'operator', 'team-a'],
    ] as const)
      tokens[name] = await cluster.apiToken(name, role, namespace);
  });
  after(() => cluster.close());

  test('token create prints the secret once; token ls never shows it', async () => {
    const out = await cluster.cli(['token', 'create', '--role', 'viewer', '--name', 'once']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout.trim(), /^titan_[a-f0-9]{12}_\S{43}$/);
    assert.match(out.stderr, /shown once/);
    const ls = await cluster.cli(['token', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /once\s+viewer/);
    for (const secret of [out.stdout.trim(), ...Object.values(tokens)]) assert.ok(!ls.stdout.includes(secret.slice(19)));
  });

  test('a viewer reads over TCP and is refused every change, with the role named', async () => {
    const viewer = await as('ci');
    assert.equal((await viewer.security.whoami()).role, 'viewer');
    await viewer.stats();
    await viewer.list();
    assert.equal(await codeOf(viewer.submit({ command: 'true' })), 'E_FORBIDDEN');
    await assert.rejects(viewer.kv.put('k', 'v'), /role viewer may not write \(it may: read\)/);
    assert.equal(await codeOf(viewer.security.listTokens()), 'E_FORBIDDEN');
  });

  test('an operator submits and cancels over TCP but manages no tokens, audit or workers', async () => {
    const operator = await as('ops');
    const { jobId } = await operator.submit({ command: 'sleep 30' });
    assert.equal((await operator.cancel(jobId)).state, 'cancelled');
    assert.equal(await codeOf(operator.security.createToken({ name: 'x', role: 'admin' })), 'E_FORBIDDEN');
    assert.equal(await codeOf(operator.security.audit()), 'E_FORBIDDEN');
    assert.equal(await codeOf(operator.shutdownWorker('w1')), 'E_FORBIDDEN');
    const admin = await as('boss');
    assert.ok((await admin.security.listTokens()).some((t) => t.name === 'ops'));
  });

  test('an API token, even admin, cannot connect as a worker: only the cluster token can', async () => {
    const refused = connectPeer({ host: '127.0.0.1', port: cluster.port, token: tokens.boss!, role: 'worker' });
    assert.equal(await codeOf(refused), 'E_FORBIDDEN');
    const { peer } = await connectPeer({ host: '127.0.0.1', port: cluster.port, token: TOKEN, role: 'worker' });
    peer.close();
  });

  test('a namespaced token gets ids in its namespace, sees only them and touches nothing outside', async () => {
    const outsider = await cluster.client();
    const { jobId: foreign } = await outsider.submit({ command: 'sleep 30' });
    const team = await as('team');
    const { jobId } = await team.submit({ command: 'sleep 30' });
    assert.match(jobId, /^team-a\./);
    const { dagId } = await team.submitDag('t', [{ key: 'a', run: { kind: 'command', command: 'true' } }]);
    assert.match(dagId, /^team-a\./);
    assert.equal(await codeOf(team.submit({ id: 'mine', command: 'true' })), 'E_FORBIDDEN');
    assert.equal(await codeOf(team.cancel(foreign)), 'E_FORBIDDEN');
    assert.equal(await codeOf(team.status(foreign)), 'E_FORBIDDEN');
    assert.deepEqual(new Set((await team.list()).map((j) => j.id.split('.')[0])), new Set(['team-a']));
    assert.ok((await outsider.list()).some((j) => j.id === foreign));

    // Listings are filtered in the query, so a page of one still finds the namespace's newest job
    // behind newer jobs of others; services, DAGs and the HTTP lists and event feed likewise.
    const service = { port: null, restart: 'always' as const, maxRestarts: 5, windowSeconds: 60 };
    const { jobId: foreignService } = await outsider.submit({ command: 'sleep 30', service });
    const { jobId: teamService } = await team.submit({ command: 'sleep 30', service });
    const { dagId: foreignDag } = await outsider.submitDag('other', [{ key: 'b', run: { kind: 'command', command: 'true' } }]);
    const later = await outsider.submitMany([{ command: 'true' }, { command: 'true' }, { command: 'true' }]);
    assert.deepEqual(
      (await team.list({ limit: 1 })).map((j) => j.id),
      [teamService],
    );
    assert.deepEqual(
      (await team.services()).map((s) => s.id),
      [teamService],
    );
    assert.ok((await outsider.services()).some((s) => s.id === foreignService));
    assert.deepEqual(
      (await team.listDags(1)).map((d) => d.id),
      [dagId],
    );
    assert.ok((await outsider.listDags(5)).some((d) => d.id === foreignDag));
    for (const path of ['/api/v1/jobs?limit=1', '/api/v1/services', '/api/v1/dags?limit=1']) {
      const body = (await (await http(path, tokens.team!)).json()) as Record<string, { id: string }[]>;
      const ids = (body.jobs ?? body.services ?? body.dags ?? []).map((x) => x.id);
      assert.ok(ids.length > 0 && ids.every((id) => id.startsWith('team-a.')), `${path}: ${ids.join(',')}`);
    }
    const feed = await http('/api/v1/events?after=0', tokens.team!);
    const reader = feed.body!.getReader();
    let text = '';
    const deadline = Date.now() + 5_000;
    while (!text.includes(teamService) && Date.now() < deadline) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    assert.ok(text.includes(teamService), "the feed carries the namespace's jobs");
    for (const id of [foreign, foreignService, ...later.jobIds]) assert.ok(!text.includes(id), `the feed leaked ${id}`);

    for (const id of [foreign, foreignService]) await outsider.cancel(id);
    await team.cancel(jobId);
    await team.cancel(teamService);
  });

  test("a namespaced token cannot read another team's artifact bytes by hash, only through its own keys and jobs", async () => {
    const admin = await cluster.client();
    const secret = new TextEncoder().encode(`other team's model ${Date.now()}`);
    await admin.publishArtifact('team-z.models/latest', secret);
    const foreignHash = (await admin.kv.fetchArtifact('team-z.models/latest')).hash;
    const team = await as('team');
    // The attack: the hash is not a secret (logs, job specs, listings show it).
    const byHttp = await http(`/api/v1/artifacts/${foreignHash}`, tokens.team!);
    assert.equal(byHttp.status, 404);
    assert.match(((await byHttp.json()) as { error: string }).error, /no artifact [a-f0-9]{64} reachable from namespace team-a: read artifacts through a key/);
    const { peer } = await connectPeer({ host: '127.0.0.1', port: cluster.port, token: tokens.team!, role: 'client' });
    assert.equal(await codeOf(peer.request(Opcode.ARTIFACT_GET, { hash: foreignHash })), 'E_UNKNOWN_ARTIFACT');
    // Its own: through a key of the namespace, and through a job of the namespace.
    await team.publishArtifact('team-a.data', new TextEncoder().encode('ours'));
    const ownHash = (await team.kv.fetchArtifact('team-a.data')).hash;
    assert.equal(await (await http(`/api/v1/artifacts/${ownHash}`, tokens.team!)).text(), 'ours');
    const script = await team.upload(new TextEncoder().encode('print(1)\n'));
    assert.equal((await http(`/api/v1/artifacts/${script}`, tokens.team!)).status, 404, 'not yet named by any of its jobs');
    const { jobId } = (await peer.request(Opcode.JOB_SUBMIT, { run: { kind: 'script', fileName: 'a.py', artifact: script } })) as { jobId: string };
    peer.close();
    assert.equal(await (await http(`/api/v1/artifacts/${script}`, tokens.team!)).text(), 'print(1)\n');
    await team.cancel(jobId);
    assert.equal((await http(`/api/v1/artifacts/${foreignHash}`, tokens.boss!)).status, 200, 'a token without a namespace reads any');
  });

  test('an approval made with an API token is attributed to the token, whatever name the client claims', async () => {
    const operator = await as('ops');
    const gate = { key: 'gate', run: { kind: 'command' as const, command: 'true' }, approval: { message: 'ship?', timeoutSeconds: 600 } };
    const { jobIds } = await operator.submitDag('approve-me', [gate]);
    const jobId = jobIds[0]!;
    await until('the gate to await approval', async () => (await operator.status(jobId)).state === 'pending');
    await operator.approve(jobId, 'someone-else');
    const history = await operator.history(jobId);
    assert.ok(
      history.events.some((e) => e.detail === 'approved by ops (as someone-else)'),
      JSON.stringify(history.events.map((e) => e.detail)),
    );
  });

  test('over HTTP: whoami says what the role may do; the audit route and unknown routes are admin-only', async () => {
    const me = (await (await http('/api/v1/whoami', tokens.ci!)).json()) as { role: string; permissions: string[] };
    assert.deepEqual(me, { kind: 'token', name: 'ci', role: 'viewer', namespace: null, permissions: ['read'] });
    const denied = await http('/api/v1/audit', tokens.ops!);
    assert.equal(denied.status, 403);
    assert.match(((await denied.json()) as { error: string }).error, /role operator may not admin/);
    assert.equal((await http('/api/v1/audit', tokens.boss!)).status, 200);
    assert.equal((await http('/api/v1/audit', TOKEN)).status, 200, 'the cluster token is admin');
    assert.equal((await http('/api/v1/not-a-route', tokens.ops!)).status, 403, 'an unknown route is admin-only');
    const minted = await http('/api/v1/tokens', tokens.ops!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'by-ops', role: 'admin' }),
    });
    assert.equal(minted.status, 403, 'an operator mints no tokens over HTTP either');
    assert.equal((await http('/api/v1/tokens', tokens.boss!)).status, 200);
    assert.equal((await http('/api/v1/not-a-route', tokens.boss!)).status, 404);
    assert.equal((await http('/api/v1/whoami', 'titan_000000000000_' + 'x'.repeat(43))).status, 401);
  });

  test('a token made with --ttl works until it expires, then is refused over TCP and HTTP, saying it expired', async () => {
    const out = await cluster.cli(['token', 'create', '--role', 'viewer', '--name', 'brief', '--ttl', '10s', '--json']);
    assert.equal(out.code, 0, out.stderr);
    const made = JSON.parse(out.stdout) as { token: string; info: { expiresAt: number; createdAt: number } };
    assert.equal(made.info.expiresAt - made.info.createdAt, 10_000);
    const open = await cluster.clientWith(made.token);
    assert.equal((await open.security.whoami()).name, 'brief');
    assert.match((await cluster.cli(['token', 'ls'])).stdout, /brief\s+viewer.*\d{4}-\d\d-\d\dT[\d:]+Z\s+live/);
    // Ten seconds leave a loaded machine's CLI starts room to run while the token still lives.
    assert.ok(Date.now() < made.info.expiresAt, 'the checks above ran while the token was live');
    await until('the token to expire', async () => Date.now() > made.info.expiresAt + 50, 15_000);
    assert.equal(await codeOf(open.stats()), 'E_UNAUTHENTICATED', 'an open connection is cut off at the next request');
    await assert.rejects(
      TitanClient.connect({ host: '127.0.0.1', port: cluster.port, token: made.token }),
      /token brief expired at \d{4}-.*titan token create --name brief/,
    );
    const res = await http('/api/v1/whoami', made.token);
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as { error: string }).error, /token brief expired at/);
    assert.match((await cluster.cli(['token', 'ls'])).stdout, /brief\s+viewer.*expired \d{4}-/);
  });

  test('revoking a token ends its open connection and its next HTTP request at once', async () => {
    const made = await (await cluster.client()).security.createToken({ name: 'doomed', role: 'operator' });
    const doomed = await cluster.clientWith(made.token);
    await doomed.stats();
    assert.equal((await http('/api/v1/whoami', made.token)).status, 200);
    const out = await cluster.cli(['token', 'revoke', 'doomed']);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(await codeOf(doomed.stats()), 'E_UNAUTHENTICATED');
    assert.equal((await http('/api/v1/whoami', made.token)).status, 401);
  });

  test('the ledger records who did what from where; audit verify passes, then catches a row edited in SQLite', async () => {
    const operator = await as('ops');
    const { jobId } = await operator.submit({ command: 'sleep 30' });
    await operator.cancel(jobId);
    const listed = await cluster.cli(['audit', '--limit', '200', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const records = JSON.parse(listed.stdout) as Array<{ seq: number; who: string; action: string; target: string; source: string; result: string }>;
    const submit = records.find((r) => r.action === 'JOB_SUBMIT' && r.target === jobId);
    assert.ok(submit, 'the submit is in the ledger');
    assert.equal(submit.who, 'ops');
    assert.match(submit.source, /127\.0\.0\.1/);
    assert.ok(records.some((r) => r.action === 'JOB_CANCEL' && r.target === jobId && r.result === 'ok'));
    assert.ok(records.some((r) => r.action === 'TOKEN_REVOKE' && r.target.includes('doomed')));
    assert.ok(records.some((r) => r.who === 'ci' && r.result.startsWith('denied: role viewer')));
    assert.ok(
      records.some((r) => r.action === 'AUTH' && r.who === 'anonymous'),
      'a refused authentication is recorded',
    );
    assert.ok(
      records.some((r) => r.action === 'MASTER_START' && r.who === 'master'),
      'the master records its own start',
    );
    assert.ok(!listed.stdout.includes(tokens.ops!.slice(19)), 'no secret in the ledger');
    const ok = await cluster.cli(['audit', 'verify']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /audit ledger intact: \d+ rows/);
    const db = new Database(join(cluster.dataDir, 'titan.db'));
    db.prepare("UPDATE audit_log SET who = 'someone-else' WHERE seq = ?").run(submit.seq);
    db.close();
    const broken = await cluster.cli(['audit', 'verify']);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, new RegExp(`row ${submit.seq} was edited`));
  });
});

describe('rate limits and namespace quotas', () => {
  const cluster = new Cluster();
  const clients: TitanClient[] = [];
  before(() => cluster.startMaster(['--rate-limit', '10/60s', '--namespace-quota', 'team-q=2']));
  after(async () => {
    for (const c of clients) c.close();
    await cluster.close();
  });
  const make = async (name: string, role: 'viewer' | 'operator', namespace?: string): Promise<{ token: string; client: TitanClient }> => {
    const { token } = await (await cluster.client()).security.createToken({ name, role, ...(namespace !== undefined ? { namespace } : {}) });
    const client = new TitanClient({ host: '127.0.0.1', port: cluster.port, token });
    clients.push(client);
    return { token, client };
  };

  test('a token over its rate gets E_RATE_LIMITED with the retry-after, over TCP and as HTTP 429; others are unaffected', async () => {
    const hot = await make('hot', 'viewer');
    const calm = await make('calm', 'viewer');
    for (let i = 0; i < 10; i++) await hot.client.stats();
    await assert.rejects(hot.client.stats(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'E_RATE_LIMITED');
      assert.match(err.message, /may make 10 requests per 60 s; retry after \d+\.\d s \(retryAfterMs=\d+\)/);
      return true;
    });
    const res = await fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/whoami`, { headers: { authorization: `Bearer ${hot.token}` } });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get('retry-after')) > 0 && Number(res.headers.get('retry-after')) <= 60);
    assert.equal(((await res.json()) as { code: string }).code, 'E_RATE_LIMITED');
    await calm.client.stats();
    const admin = await cluster.client();
    for (let i = 0; i < 30; i++) await admin.stats();
  });

  test('a namespace at its quota of unfinished jobs is refused more, naming the quota; when one ends it may submit again', async () => {
    const team = await make('team-q', 'operator', 'team-q');
    const first = await team.client.submit({ command: 'sleep 30' });
    await team.client.submit({ command: 'sleep 30' });
    await assert.rejects(team.client.submit({ command: 'true' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'E_QUOTA_EXCEEDED');
      assert.match(err.message, /namespace team-q may have 2 unfinished jobs; it has 2 and this adds 1/);
      return true;
    });
    await (await cluster.client()).submit({ command: 'true' });
    await team.client.cancel(first.jobId);
    await until('a slot in the quota', async () => (await team.client.submit({ command: 'sleep 30' })).jobId);
  });

  test('retrying cancelled jobs counts against the quota: a namespace cannot go past it that way', async () => {
    const admin = await cluster.client();
    for (const job of await admin.list({ limit: 100 }))
      if (job.id.startsWith('team-q.') && !['cancelled', 'succeeded', 'failed', 'dead'].includes(job.state)) await admin.cancel(job.id);
    const team = await make('team-q-retry', 'operator', 'team-q');
    const a = await team.client.submit({ command: 'sleep 30' });
    const b = await team.client.submit({ command: 'sleep 30' });
    await admin.cancel(a.jobId);
    await admin.cancel(b.jobId);
    await team.client.submit({ command: 'sleep 30' });
    await team.client.submit({ command: 'sleep 30' });
    await assert.rejects(team.client.retry(a.jobId), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'E_QUOTA_EXCEEDED');
      assert.match(err.message, /namespace team-q may have 2 unfinished jobs; it has 2 and this adds 1/);
      return true;
    });
    assert.equal((await admin.status(a.jobId)).state, 'cancelled', 'the refused retry changed nothing');
    const unfinished = (await admin.list({ limit: 100 })).filter(
      (j) => j.id.startsWith('team-q.') && !['cancelled', 'succeeded', 'failed', 'dead'].includes(j.state),
    );
    assert.equal(unfinished.length, 2);
  });
});
