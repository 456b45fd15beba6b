import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Opcode } from '../protocol/opcodes.js';
import { requirementOf } from './opcode-permissions.js';
import { can, permissionsOf, type Identity } from './policy.js';
import { routePermission } from './http-permissions.js';

const who = (role: Identity['role'], namespace?: string): Identity => ({
  kind: 'token',
  name: role,
  tokenId: 'x',
  role,
  ...(namespace !== undefined ? { namespace } : {}),
  mayActAsWorker: false,
});
const allowed = (identity: Identity, opcode: number, body: unknown = {}): boolean => {
  const r = requirementOf(opcode, body);
  return can(identity, r.action, r.resource).allowed;
};

void describe('can: roles', () => {
  void test('a viewer reads but changes nothing', () => {
    const viewer = who('viewer');
    for (const op of [Opcode.JOB_STATUS, Opcode.JOB_LIST, Opcode.JOB_LOGS, Opcode.DAG_STATUS, Opcode.CLUSTER_STATS, Opcode.KV_GET, Opcode.WHOAMI])
      assert.ok(allowed(viewer, op, { jobId: 'a', dagId: 'd', key: 'k' }), `viewer may ${op}`);
    for (const op of [
      Opcode.JOB_SUBMIT,
      Opcode.JOB_CANCEL,
      Opcode.DAG_SUBMIT,
      Opcode.JOB_APPROVE,
      Opcode.KV_PUT,
      Opcode.SERVICE_STOP,
      Opcode.SCHEDULE_ADD,
      Opcode.ARTIFACT_PUT,
      Opcode.PIPELINE_SUBMIT,
    ]) {
      assert.equal(allowed(viewer, op, { jobId: 'a' }), false, `viewer may not ${op}`);
    }
  });

  void test('an operator submits, cancels, approves and deploys but manages neither tokens, audit nor workers', () => {
    const operator = who('operator');
    for (const op of [Opcode.JOB_SUBMIT, Opcode.JOB_CANCEL, Opcode.DAG_SUBMIT, Opcode.JOB_APPROVE, Opcode.JOB_REJECT, Opcode.SERVICE_RESTART, Opcode.KV_PUT])
      assert.ok(allowed(operator, op, { jobId: 'a' }));
    assert.ok(allowed(operator, Opcode.JOB_SUBMIT, { service: {} }), 'deploy');
    for (const op of [Opcode.TOKEN_CREATE, Opcode.TOKEN_LIST, Opcode.TOKEN_REVOKE, Opcode.AUDIT_LIST, Opcode.AUDIT_VERIFY, Opcode.WORKER_SHUTDOWN])
      assert.equal(allowed(operator, op), false);
  });

  void test('an admin does everything except speak the worker protocol', () => {
    const admin = who('admin');
    for (const op of Object.values(Opcode)) if (op !== Opcode.AUTH) assert.ok(allowed(admin, op, { jobId: 'a' }), `admin may ${op}`);
    assert.equal(can(admin, 'worker').allowed, false);
    assert.ok(can({ ...admin, kind: 'cluster', mayActAsWorker: true }, 'worker').allowed);
  });

  void test('an opcode nobody classified needs admin', () => {
    assert.deepEqual(requirementOf(250, {}).action, 'admin');
    assert.equal(allowed(who('operator'), 250), false);
  });

  void test('denials name the role and what it may do', () => {
    const d = can(who('viewer'), 'submit');
    assert.equal(d.allowed, false);
    assert.match(d.allowed ? '' : d.reason, /role viewer may not submit \(it may: read\)/);
    assert.deepEqual(permissionsOf(who('operator')), ['read', 'submit', 'cancel', 'approve', 'deploy', 'write']);
  });
});

void describe('can: namespaces', () => {
  const team = who('operator', 'team-a');
  test('ids inside the prefix are allowed, others refused with the prefix named', () => {
    assert.ok(allowed(team, Opcode.JOB_CANCEL, { jobId: 'team-a.build' }));
    assert.ok(allowed(team, Opcode.JOB_STATUS, { jobId: 'team-a.dx1.step' }));
    const d = can(team, 'cancel', { kind: 'ids', ids: ['team-b.build'] });
    assert.equal(d.allowed, false);
    assert.match(d.allowed ? '' : d.reason, /outside namespace team-a: ids must start with "team-a\."/);
    assert.equal(allowed(team, Opcode.JOB_CANCEL, { jobId: 'team-ab.x' }), false, 'a longer namespace is not inside a shorter one');
    assert.equal(allowed(team, Opcode.JOB_SUBMIT_BATCH, { jobs: [{ id: 'team-a.1' }, { id: 'other' }] }), false);
    assert.equal(allowed(team, Opcode.KV_PUT, { key: 'global' }), false);
    assert.ok(allowed(team, Opcode.KV_PUT, { key: 'team-a.result' }));
  });

  test('cluster-wide views may be read, cluster-wide changes may not', () => {
    assert.ok(allowed(team, Opcode.JOB_LIST));
    assert.ok(allowed(team, Opcode.CLUSTER_STATS));
    assert.equal(allowed(team, Opcode.SCHEDULE_ADD), false);
    assert.ok(allowed(team, Opcode.DAG_SUBMIT, { jobs: [] }), 'the DAG id is chosen by the master inside the namespace');
    assert.ok(allowed(team, Opcode.PIPELINE_SUBMIT, { yaml: 'x' }), "so is a pipeline's");
    assert.ok(allowed(team, Opcode.PIPELINE_SUBMIT, { yaml: 'x', dagId: 'team-a.d1' }));
    assert.equal(allowed(team, Opcode.PIPELINE_SUBMIT, { yaml: 'x', dagId: 'other.d1' }), false, 'a pipeline grows only a DAG of the namespace');
  });
});

void describe('routePermission', () => {
  test('probes are public, known routes follow the table, unknown routes need admin', () => {
    assert.equal(routePermission('GET', '/healthz', undefined), 'public');
    assert.deepEqual(routePermission('GET', '/api/v1/jobs/:id', undefined), { action: 'read', scope: 'params' });
    assert.deepEqual(routePermission('POST', '/api/v1/something-new', undefined), { action: 'admin', scope: 'cluster' });
    assert.deepEqual(routePermission('GET', undefined, undefined), { action: 'admin', scope: 'cluster' });
    assert.deepEqual(routePermission('GET', '/api/v1/x', { action: 'read', scope: 'none' }), { action: 'read', scope: 'none' });
  });
});
