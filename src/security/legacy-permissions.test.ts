import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LegacyOp } from '../protocol/legacy-frame.js';
import { legacyIdentity, parseLegacyRole } from './legacy-permissions.js';
import { legacyActionName, legacyRequirementOf } from './legacy-permissions.js';
import { can } from './policy.js';

const REPLIES = new Set<number>([LegacyOp.ACK, LegacyOp.ERROR, LegacyOp.DATA]);
const REQUESTS = Object.entries(LegacyOp).filter(([, code]) => !REPLIES.has(code));
const allowed = (role: 'viewer' | 'operator' | 'admin', opcode: number, payload = ''): boolean => {
  const requirement = legacyRequirementOf(opcode, payload);
  assert.ok(requirement !== undefined, `opcode ${opcode} has a rule`);
  return can(legacyIdentity(role), requirement.action, requirement.resource).allowed;
};

void test('every v1 request opcode has a rule; reply opcodes and unknown ones have none', () => {
  for (const [name, code] of REQUESTS) assert.ok(legacyRequirementOf(code, '') !== undefined, `${name} is classified`);
  for (const code of [...REPLIES, 0x42, 0xff]) assert.equal(legacyRequirementOf(code, ''), undefined);
  assert.equal(legacyActionName(LegacyOp.SUBMIT_JOB), 'V1 SUBMIT_JOB');
  assert.equal(legacyActionName(0x42), 'V1 #0x42');
});

void test('a viewer v1 client may only read: stats, status, logs, KV and asset reads', () => {
  const reads: number[] = [
    LegacyOp.STATS,
    LegacyOp.STATS_JSON,
    LegacyOp.GET_LOGS,
    LegacyOp.GET_JOB_STATUS,
    LegacyOp.FETCH_ASSET,
    LegacyOp.KV_GET,
    LegacyOp.KV_SMEMBERS,
  ];
  for (const [name, code] of REQUESTS) assert.equal(allowed('viewer', code, 'x|y'), reads.includes(code), name);
});

void test('an operator v1 client does everything the original SDK does, but not kill workers or act as one', () => {
  for (const [name, code] of REQUESTS) {
    const adminOrWorker = ([LegacyOp.KILL_WORKER, LegacyOp.HEARTBEAT, LegacyOp.REGISTER] as number[]).includes(code);
    assert.equal(allowed('operator', code, 'x|y'), !adminOrWorker, name);
  }
  assert.equal(allowed('admin', LegacyOp.KILL_WORKER, 'h|1'), true);
  assert.equal(allowed('admin', LegacyOp.REGISTER, ''), false, 'no v1 client is a worker, whatever its role');
});

void test('a submission that starts a service needs deploy; the ids touched are read from the payload', () => {
  assert.equal(legacyRequirementOf(LegacyOp.SUBMIT_DAG, 'a|RUN_PAYLOAD|a.py||eA==|GENERAL|1|0|[]')?.action, 'submit');
  assert.equal(
    legacyRequirementOf(LegacyOp.SUBMIT_DAG, 'a|RUN_PAYLOAD|a.py||eA==|GENERAL|1|0|[] ; w|DEPLOY_PAYLOAD|w.py|eA==|0|GENERAL|1|0|[]')?.action,
    'deploy',
  );
  assert.equal(legacyRequirementOf(LegacyOp.SUBMIT_JOB, 's|START_ARCHIVE_SERVICE|p.zip/m.py||0|GENERAL|1|0|[]')?.action, 'deploy');
  assert.deepEqual(legacyRequirementOf(LegacyOp.KV_SET, 'color|deep|blue')?.resource, { kind: 'ids', ids: ['color'] });
  assert.deepEqual(legacyRequirementOf(LegacyOp.CANCEL_JOB, ' DAG-x \n')?.resource, { kind: 'ids', ids: ['DAG-x'] });
  assert.deepEqual(legacyRequirementOf(LegacyOp.DEPLOY, 'web.py|8080|GENERAL')?.resource, { kind: 'ids', ids: ['web.py'] });
});

void test('--legacy-role takes a role name and names the choices otherwise', () => {
  assert.equal(parseLegacyRole('viewer'), 'viewer');
  assert.equal(parseLegacyRole(' Admin '), 'admin');
  assert.throws(() => parseLegacyRole('root'), /--legacy-role must be one of admin, operator, viewer .*not "root"/);
});
