/**
 * The ledger cannot be cut or wiped unnoticed while the master is stopped: the master checks the
 * sealed head against the last row before it writes anything, says so loudly, and `titan audit
 * verify` reports it from then on. The head is also in /metrics, to be compared from outside.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Cluster } from './harness.js';

async function clusterWithHistory(t: { after: (fn: () => Promise<void>) => void }): Promise<Cluster> {
  const cluster = new Cluster();
  t.after(() => cluster.close());
  await cluster.startMaster();
  for (const name of ['ci-a', 'ci-b', 'ci-c']) await cluster.apiToken(name, 'viewer');
  const verified = await cluster.cli(['audit', 'verify']);
  assert.equal(verified.code, 0, `intact before the attack: ${verified.stdout}${verified.stderr}`);
  await cluster.killMaster();
  return cluster;
}

function tamper(cluster: Cluster, sql: (db: Database.Database) => void): void {
  const db = new Database(join(cluster.dataDir, 'titan.db'));
  try {
    sql(db);
  } finally {
    db.close();
  }
}

test('cutting the last rows (and fixing sqlite_sequence) while the master is stopped is reported by verify after the restart', async (t) => {
  const cluster = await clusterWithHistory(t);
  tamper(cluster, (db) => {
    const max = db.prepare('SELECT MAX(seq) FROM audit_log').pluck().get() as number;
    db.prepare('DELETE FROM audit_log WHERE seq > ?').run(max - 3);
    db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'audit_log'").run(max - 3);
  });
  await cluster.startMaster();
  const verdict = await cluster.cli(['audit', 'verify']);
  assert.equal(verdict.code, 1, verdict.stdout);
  assert.match(verdict.stdout + verdict.stderr, /cut|deleted/);
});

test('wiping every row, the sequence and the sealed head is reported too; the head is in /metrics', async (t) => {
  const cluster = await clusterWithHistory(t);
  tamper(cluster, (db) => {
    db.exec("DELETE FROM audit_log; DELETE FROM sqlite_sequence WHERE name = 'audit_log'; DELETE FROM meta WHERE key = 'audit.head'");
  });
  await cluster.startMaster();
  const verdict = await cluster.cli(['audit', 'verify']);
  assert.equal(verdict.code, 1, verdict.stdout);
  assert.match(verdict.stdout + verdict.stderr, /deleted/);
  const metrics = await fetch(`http://127.0.0.1:${cluster.httpPort}/metrics`, { headers: { authorization: `Bearer ${cluster.token}` } });
  const text = await metrics.text();
  assert.match(text, /^titan_audit_head_seq\{hash="[0-9a-f]{64}"\} \d+$/m, text.slice(0, 500));
});
