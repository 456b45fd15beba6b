import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApprovalView } from '../src/protocol/views.js';
import type { TitanClient } from '../src/sdk/client.js';
import { awaitListed, submitOriginal } from './compat-fixtures.js';
import { Cluster, TOKEN, codeOf } from './harness.js';

describe('the original Titan pipeline keys: hitl_message gates the dependants, decided like any approval', () => {
  const cluster = new Cluster();
  let client: TitanClient;
  before(async () => {
    await cluster.startMaster();
    await cluster.startWorker('w1', { slots: 4 });
    client = await cluster.client();
  });
  after(() => cluster.close());

  test('the gated job runs, a gate waits with its message and age, and `titan approve <dag>/<job>` lets the dependants run', async () => {
    const { dagId, jobIds } = await submitOriginal(cluster, 'agents.yaml');
    const gate = `${dagId}.hitl-gate-risk-check`;
    assert.deepEqual(jobIds.sort(), [`${dagId}.api`, `${dagId}.fetch`, gate, `${dagId}.publish`, `${dagId}.risk-check`].sort());

    const listed = await awaitListed(cluster, gate);
    assert.deepEqual({ kind: listed.kind, message: listed.message, dagId: listed.dagId }, { kind: 'job', message: 'Risk report ready. Publish it?', dagId });
    assert.ok(listed.since !== null && listed.ageMs !== null && listed.ageMs >= 0);
    assert.equal(listed.expiresAt, listed.since + 600_000, 'max_wait_seconds is the approval deadline');
    assert.equal((await client.status(`${dagId}.risk-check`)).state, 'succeeded', 'the gated job itself is not held');
    assert.equal((await client.status(`${dagId}.publish`)).state, 'pending');
    const table = await cluster.cli(['approvals']);
    assert.match(table.stdout, new RegExp(`${gate.replace(/\./g, '\\.')}\\s+job\\s+\\S+\\s+in \\S+\\s+Risk report ready\\. Publish it\\?`));

    const approved = await cluster.cli(['approve', `${dagId}/risk-check`, '--by', 'alice']);
    assert.equal(approved.code, 0, approved.stderr);
    assert.equal(approved.stdout, `job ${gate} approved: succeeded\n`);
    const done = await client.waitDag(dagId, 30_000);
    assert.equal(done.dag.state, 'succeeded');

    const byKey = new Map(done.jobs.map((j) => [j.key, j]));
    const gateView = byKey.get('hitl-gate-risk-check');
    assert.deepEqual(
      [gateView?.state, gateView?.reason, gateView?.attempt, gateView?.parents],
      ['succeeded', 'approved by alice', 0, ['risk-check']],
      'the gate ran nothing',
    );
    assert.deepEqual(byKey.get('publish')?.parents, ['hitl-gate-risk-check'], 'publish waits for the gate, not the job');
    assert.ok((byKey.get('publish')?.startedAt ?? 0) >= (gateView?.finishedAt ?? Infinity), 'publish started after the approval');
    const fetch = byKey.get('fetch');
    assert.equal(fetch?.priority, 5);
    assert.ok((fetch?.startedAt ?? 0) - (fetch?.submittedAt ?? 0) >= 1000, 'delay: 1 held fetch for a second');
    assert.equal(byKey.get('risk-check')?.workerId, fetch?.workerId, 'affinity: on the worker that ran its first parent');
    assert.equal(byKey.get('api')?.state, 'running', 'type: SERVICE is a service');
    assert.ok(!(await client.approvals.list()).some((a) => a.ref === gate), 'decided: no longer listed');
  });

  test('a gate nobody decides within max_wait_seconds fails, like a rejection, and the dependants never run', async () => {
    const { dagId } = await submitOriginal(cluster, 'expiring.yaml');
    const done = await client.waitDag(dagId, 30_000);
    assert.equal(done.dag.state, 'failed');
    const states = Object.fromEntries(done.jobs.map((j) => [j.key, [j.state, j.reason]]));
    assert.deepEqual(states, {
      check: ['succeeded', null],
      'hitl-gate-check': ['failed', 'approval timed out after 2 s'],
      after: ['skipped', '1 parent(s) did not succeed'],
    });
  });

  test('a gate registered over protocol v2 is listed and approved through the HTTP API, which writes APPROVED to its status key', async () => {
    const since = Date.now();
    await client.kv.sadd('titan:hitl:queue', ['v2-gate']);
    await client.kv.put('titan:hitl:status:v2-gate', 'WAITING');
    await client.kv.put('titan:hitl:message:v2-gate', 'Deploy v2?');
    await client.kv.put('titan:hitl:ts:v2-gate', String(since));
    const http = (path: string, token = TOKEN, method = 'GET') =>
      fetch(`http://127.0.0.1:${cluster.httpPort}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: '{}' } : {}),
      });

    const listed = (await (await http('/api/v1/approvals')).json()) as { approvals: ApprovalView[] };
    const gate = listed.approvals.find((a) => a.ref === 'hitl:v2-gate');
    assert.deepEqual([gate?.kind, gate?.message, gate?.since, gate?.expiresAt], ['kv-gate', 'Deploy v2?', since, null]);

    // Another namespace's operator neither sees the gate nor may decide it.
    const outsider = await cluster.apiToken('team-a-ops', 'operator', 'team-a');
    const seen = (await (await http('/api/v1/approvals', outsider)).json()) as { approvals: ApprovalView[] };
    assert.ok(!seen.approvals.some((a) => a.ref === 'hitl:v2-gate'));
    assert.equal((await http('/api/v1/approvals/hitl%3Av2-gate/approve', outsider, 'POST')).status, 403);
    const overTcp = await cluster.clientWith(outsider);
    assert.equal(await codeOf(overTcp.approvals.reject('hitl:v2-gate')), 'E_FORBIDDEN');
    assert.ok(!(await overTcp.approvals.list()).some((a) => a.ref === 'hitl:v2-gate'));
    assert.equal(await client.kv.get('titan:hitl:status:v2-gate'), 'WAITING', 'the refused decision changed nothing');

    const decided = await http('/api/v1/approvals/hitl%3Av2-gate/approve', TOKEN, 'POST');
    assert.equal(decided.status, 200, await decided.clone().text());
    assert.deepEqual(await decided.json(), { ref: 'hitl:v2-gate', key: 'titan:hitl:status:v2-gate', status: 'APPROVED', by: 'a client at http:127.0.0.1' });
    assert.equal(await client.kv.get('titan:hitl:status:v2-gate'), 'APPROVED');
    const ledger = await client.security.audit(200);
    const decisions = ledger.filter((r) => r.target.includes('v2-gate') && !r.action.startsWith('KV_') && r.result !== 'received');
    assert.deepEqual(
      decisions.map((r) => `${r.who} ${r.action} ${r.target} ${r.result.split(':')[0]}`),
      [
        'cluster POST /api/v1/approvals/:id/approve hitl:v2-gate ok',
        'team-a-ops JOB_REJECT titan:hitl:status:v2-gate denied',
        'team-a-ops POST /api/v1/approvals/:id/approve hitl:v2-gate denied',
      ],
      'the decision and both refused attempts are in the audit ledger, newest first',
    );
    assert.deepEqual(await client.kv.smembers('titan:hitl:queue'), ['v2-gate'], 'the queue is left as the original leaves it');

    const again = await cluster.cli(['reject', 'hitl:v2-gate']);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /gate hitl:v2-gate is not waiting for a decision: titan:hitl:status:v2-gate is "APPROVED"/);
    const unknown = await cluster.cli(['approve', 'hitl:no-such-gate']);
    assert.equal(unknown.code, 4);
    assert.match(unknown.stderr, /no gate hitl:no-such-gate: "no-such-gate" is not in titan:hitl:queue/);
  });
});
