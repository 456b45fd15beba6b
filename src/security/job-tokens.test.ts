import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { JobTokens, looksLikeJobToken } from './job-tokens.js';
import { jobIdentity, ownerOf, can } from './policy.js';

const tokens = new JobTokens(randomBytes(32));

test('a minted token proves its job and attempt, job ids with underscores and dots included', () => {
  for (const jobId of ['j1', 'team-a.d1x_2.build_step', 'a_'.repeat(60)]) {
    const token = tokens.mint(jobId, 3);
    assert.ok(looksLikeJobToken(token));
    assert.deepEqual(tokens.verify(token), { jobId, attempt: 3 });
  }
});

test('a token for another attempt, another job, another key or with an altered MAC proves nothing', () => {
  const token = tokens.mint('job-1', 1);
  assert.equal(tokens.verify(token.replace('titanjob_1_', 'titanjob_2_')), undefined);
  assert.equal(tokens.verify(`${token}x`), undefined);
  assert.equal(tokens.verify(token.replace(/_job-1$/, '_job-2')), undefined);
  assert.equal(new JobTokens(randomBytes(32)).verify(token), undefined);
  // The MAC is the 43 characters after `titanjob_1_` (base64url: it may hold '_' itself).
  const mac = token.slice('titanjob_1_'.length, 'titanjob_1_'.length + 43);
  const flipped = token.replace(mac, `${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`);
  assert.equal(tokens.verify(flipped), undefined);
  for (const junk of ['', 'titanjob_', 'titanjob_0_x_y', `titanjob_1_${'A'.repeat(43)}_`, `titanjob_1_${'A'.repeat(43)}_bad id`])
    assert.equal(tokens.verify(junk), undefined, junk);
});

test("a second spelling of the MAC's last character (same decoded bytes) proves nothing", () => {
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < 20; i++) {
    const token = tokens.mint(`job-${i}`, 1);
    const mac = token.slice('titanjob_1_'.length, 'titanjob_1_'.length + 43);
    const last = ALPHABET.indexOf(mac[42]!);
    // The last of 43 characters carries 4 bits of the MAC and 2 unused ones: 3 other spellings decode the same.
    for (const spare of [1, 2, 3]) {
      const twin = `${mac.slice(0, 42)}${ALPHABET[last ^ spare]}`;
      assert.deepEqual(Buffer.from(twin, 'base64url'), Buffer.from(mac, 'base64url'), 'the attack: same bytes, other text');
      assert.equal(tokens.verify(`titanjob_1_${twin}_job-${i}`), undefined);
    }
    assert.deepEqual(tokens.verify(token), { jobId: `job-${i}`, attempt: 1 });
  }
});

test("a job acts as an operator in its owner's namespace, never as an admin or a worker", () => {
  const admin = { kind: 'token' as const, name: 'boss', tokenId: 'aaaaaaaaaaaa', role: 'admin' as const, mayActAsWorker: false };
  const asJob = jobIdentity('j1', 1, ownerOf(admin));
  assert.equal(asJob.role, 'operator');
  assert.equal(asJob.tokenId, 'aaaaaaaaaaaa');
  assert.equal(asJob.name, 'boss/job:j1');
  assert.equal(can(asJob, 'admin').allowed, false);
  assert.equal(can(asJob, 'worker').allowed, false);
  assert.equal(can(asJob, 'submit', { kind: 'ids', ids: ['x'] }).allowed, true);

  const team = { kind: 'token' as const, name: 'team', tokenId: 'bbbbbbbbbbbb', role: 'operator' as const, namespace: 'team-a', mayActAsWorker: false };
  const teamJob = jobIdentity('team-a.j', 1, ownerOf(team));
  assert.equal(can(teamJob, 'write', { kind: 'ids', ids: ['team-a.k'] }).allowed, true);
  assert.equal(can(teamJob, 'write', { kind: 'ids', ids: ['other'] }).allowed, false);
  // A job's children act for the same submitter, not for the job.
  assert.deepEqual(ownerOf(teamJob), { name: 'team', tokenId: 'bbbbbbbbbbbb', namespace: 'team-a' });
  assert.equal(jobIdentity('j2', 1, undefined).name, 'cluster/job:j2');
});
