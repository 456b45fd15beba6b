import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { AuditRecordView } from '../src/sdk/security.js';
import { Cluster, MAIN } from './harness.js';
import { OP, runPayload, v1 } from './v1-client.js';

/** The ledger rows protocol v1 clients left, oldest first (read with the cluster token, an admin). */
async function v1Rows(cluster: Cluster): Promise<AuditRecordView[]> {
  const admin = await cluster.client();
  return (await admin.security.audit(1000)).filter((r) => r.who === 'legacy-v1').reverse();
}

describe('protocol v1 clients under --legacy-role viewer', () => {
  const cluster = new Cluster();
  before(() => cluster.startMaster(['--allow-legacy-unauthenticated', '--legacy-role', 'viewer']));
  after(() => cluster.close());

  test('a viewer reads stats, status and KV over v1', async () => {
    assert.equal((await v1(cluster.port, OP.STATS, '')).opcode, OP.ACK);
    const stats = JSON.parse((await v1(cluster.port, OP.STATS_JSON, '')).text) as { workers: unknown[] };
    assert.ok(Array.isArray(stats.workers));
    assert.deepEqual(await v1(cluster.port, OP.GET_JOB_STATUS, 'DAG-nothing'), { opcode: OP.ACK, text: 'NULL' });
    assert.deepEqual(await v1(cluster.port, OP.KV_GET, 'color'), { opcode: OP.ACK, text: 'NULL' });
  });

  test('a viewer is refused a submit and a KV write with the role, what it may do and the fix; nothing is created', async () => {
    const submit = await v1(cluster.port, OP.SUBMIT_DAG, runPayload('refused', 'r.sh', '', 'echo no', []));
    assert.equal(submit.opcode, OP.ERROR);
    assert.match(
      submit.text,
      /^ERROR: V1 SUBMIT_DAG refused for legacy-v1: role viewer may not submit \(it may: read\)\. .*--legacy-role operator \(or TITAN_LEGACY_ROLE=operator\)/,
    );
    const write = await v1(cluster.port, OP.KV_SET, 'color|red');
    assert.equal(write.opcode, OP.ERROR);
    assert.match(write.text, /^ERROR: V1 KV_SET refused for legacy-v1: role viewer may not write/);
    assert.equal((await v1(cluster.port, OP.GET_JOB_STATUS, 'DAG-refused')).text, 'NULL');
    assert.equal((await v1(cluster.port, OP.KV_GET, 'color')).text, 'NULL');
    const native = await cluster.client();
    assert.deepEqual(await native.listDags(), []);
    assert.deepEqual(await native.list(), []);
  });

  test('the refusals are in the audit ledger with source and reason, reads are not, and the chain verifies', async () => {
    const rows = await v1Rows(cluster);
    assert.deepEqual(
      rows.map((r) => [r.action, r.role, r.result.split(':')[0]]),
      [
        ['V1 SUBMIT_DAG', 'viewer', 'denied'],
        ['V1 KV_SET', 'viewer', 'denied'],
      ],
    );
    assert.match(rows[0]?.result ?? '', /role viewer may not submit/);
    assert.equal(rows[1]?.target, 'color');
    for (const row of rows) assert.match(row.source, /^127\.0\.0\.1:\d+$/);
    const verify = await cluster.cli(['audit', 'verify']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  test("after a restart with --legacy-role admin and a small --rate-limit: v1 clients, all legacy-v1, are not held to one token's rate", async () => {
    await cluster.killMaster();
    await cluster.startMaster(['--allow-legacy-unauthenticated', '--legacy-role', 'admin', '--rate-limit', '3/60s']);
    // An admin passes the policy; the opcode itself is still not one Titan can serve.
    const kill = await v1(cluster.port, OP.KILL_WORKER, '10.0.0.5|8081');
    assert.match(kill.text, /^ERROR: OP_KILL_WORKER is not supported/);
    // The original SDK opens a connection per request: a token's 3 per minute would stop any script.
    for (let i = 0; i < 10; i++) assert.equal((await v1(cluster.port, OP.STATS, '')).opcode, OP.ACK, `request ${i + 2} was refused`);
    assert.equal((await v1(cluster.port, OP.KV_SET, 'color|green')).text, 'OK');
    const native = await cluster.client();
    assert.ok(Array.isArray((await native.stats()).workers), 'the cluster token is not limited by what v1 clients did');
    const rows = await v1Rows(cluster);
    assert.deepEqual(rows.map((r) => [r.action, r.role, r.result.split(':')[0]]).slice(-4), [
      ['V1 KILL_WORKER', 'admin', 'received'],
      ['V1 KILL_WORKER', 'admin', 'error E_INVALID_REQUEST'],
      ['V1 KV_SET', 'admin', 'received'],
      ['V1 KV_SET', 'admin', 'ok'],
    ]);
    assert.equal(rows.length, 6, 'the two rows from before the restart are kept');
    assert.equal((await native.security.verifyAudit()).ok, true);
  });

  test('the master refuses an unknown --legacy-role at start, naming the roles', () => {
    const run = spawnSync(
      process.execPath,
      [MAIN, 'master', '--listen', '127.0.0.1:0', '--allow-legacy-unauthenticated', '--legacy-role', 'root', '--data-dir', join(cluster.dir, 'refused')],
      {
        encoding: 'utf8',
        env: { ...process.env, TITAN_HOME: cluster.dir },
        timeout: 15_000,
      },
    );
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /--legacy-role must be one of admin, operator, viewer .*not "root"/);
  });
});

describe('protocol v1 clients with the default role, operator', () => {
  const cluster = new Cluster();
  before(() => cluster.startMaster(['--allow-legacy-unauthenticated']));
  after(() => cluster.close());

  test('an operator submits over v1, and the ledger names the job it created', async () => {
    assert.deepEqual(await v1(cluster.port, OP.SUBMIT_DAG, runPayload('hello', 'hello.sh', '', 'echo hi', [])), { opcode: OP.ACK, text: 'DAG_ACCEPTED' });
    assert.equal((await v1(cluster.port, OP.GET_JOB_STATUS, 'DAG-hello')).text, 'PENDING');
    assert.equal((await v1(cluster.port, OP.KV_SET, 'color|blue')).text, 'OK');
    const native = await cluster.client();
    const [dag] = await native.listDags();
    assert.ok(dag !== undefined && dag.id.startsWith('v1-'), 'the submission is a Titan DAG run');
    const rows = await v1Rows(cluster);
    // Each change is two rows: `received` before it runs, then its outcome with what it created.
    assert.deepEqual(
      rows.map((r) => [r.action, r.role, r.result]),
      [
        ['V1 SUBMIT_DAG', 'operator', 'received'],
        ['V1 SUBMIT_DAG', 'operator', 'ok'],
        ['V1 KV_SET', 'operator', 'received'],
        ['V1 KV_SET', 'operator', 'ok'],
      ],
    );
    assert.equal(rows[1]?.target, `${dag.id}.hello`);
  });

  test('an operator is refused what only an admin may do (OP_KILL_WORKER), and no v1 client may act as a worker', async () => {
    const kill = await v1(cluster.port, OP.KILL_WORKER, '10.0.0.5|8081');
    assert.equal(kill.opcode, OP.ERROR);
    assert.match(
      kill.text,
      /^ERROR: V1 KILL_WORKER refused for legacy-v1: role operator may not admin \(it may: read, submit, cancel, approve, deploy, write\)\. .*--legacy-role admin/,
    );
    const register = await v1(cluster.port, OP.REGISTER, 'java-worker|8081');
    assert.equal(register.opcode, OP.ERROR);
    assert.match(register.text, /only the cluster token .* may act as a worker\. Original Java workers cannot join a Titan master; run `titan worker/);
    const rows = await v1Rows(cluster);
    assert.deepEqual(
      rows.slice(-2).map((r) => [r.action, r.result.split(':')[0]]),
      [
        ['V1 KILL_WORKER', 'denied'],
        ['V1 REGISTER', 'denied'],
      ],
    );
    const verify = await cluster.cli(['audit', 'verify']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });
});
