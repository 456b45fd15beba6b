/**
 * The ledger's head (last hash and row count) can be checked from outside the data dir: /metrics
 * serves it, and the master logs it when it opens and closes the ledger. The head at one close is
 * the head at the next open, so even a cut that someone with the key re-sealed (which `titan audit
 * verify` cannot see) shows as a mismatch between the two log lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Cluster, killAndWait } from './harness.js';

interface LoggedHead {
  readonly auditHeadSeq: number;
  readonly auditHeadHash: string;
  readonly auditRows: number;
}

const INFO = { TITAN_LOG_LEVEL: 'info' };

function loggedHead(log: string, msg: string): LoggedHead {
  const line = log.split('\n').find((l) => l.includes(`"msg":"${msg}"`));
  assert.ok(line !== undefined, `the master logged "${msg}":\n${log.slice(-2000)}`);
  return JSON.parse(line) as LoggedHead;
}

async function stopMaster(cluster: Cluster): Promise<string> {
  const master = cluster.master;
  assert.ok(master !== null);
  await killAndWait(master, 'SIGTERM');
  cluster.master = null;
  return cluster.masterLog;
}

test('/metrics serves the row count and head hash the ledger holds; a close logs the head the next open finds', async (t) => {
  const cluster = new Cluster();
  t.after(() => cluster.close());
  await cluster.startMaster([], INFO);
  const client = await cluster.client();
  for (const name of ['head-a', 'head-b']) await client.security.createToken({ name, role: 'viewer' });

  const metrics = await (await fetch(`http://127.0.0.1:${cluster.httpPort}/metrics`, { headers: { authorization: `Bearer ${cluster.token}` } })).text();
  const served = /^titan_audit_rows\{hash="([0-9a-f]{64})"\} (\d+)$/m.exec(metrics);
  assert.ok(served !== null, metrics.slice(0, 800));
  // Straight from the file (verify itself would add its own ledger rows first).
  const db = new Database(join(cluster.dataDir, 'titan.db'), { readonly: true });
  const stored = db.prepare('SELECT COUNT(*) AS rows, (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1) AS head FROM audit_log').get() as {
    rows: number;
    head: string;
  };
  db.close();
  assert.equal(Number(served[2]), stored.rows);
  assert.equal(served[1], stored.head);
  const verdict = await client.security.verifyAudit();
  assert.ok(verdict.ok, JSON.stringify(verdict));

  const closed = loggedHead(await stopMaster(cluster), 'audit ledger head at close');
  assert.ok(closed.auditRows > stored.rows, 'the close head includes the rows written after the scrape (MASTER_STOP)');
  await cluster.startMaster([], INFO);
  const opened = loggedHead(cluster.masterLog, 'audit ledger head at open');
  assert.deepEqual(
    { seq: opened.auditHeadSeq, hash: opened.auditHeadHash, rows: opened.auditRows },
    { seq: closed.auditHeadSeq, hash: closed.auditHeadHash, rows: closed.auditRows },
  );
});

test('a cut re-sealed with the key passes verify, but the head at open no longer matches the head at the last close', async (t) => {
  const cluster = new Cluster();
  t.after(() => cluster.close());
  await cluster.startMaster([], INFO);
  const client = await cluster.client();
  for (const name of ['cut-a', 'cut-b', 'cut-c']) await client.security.createToken({ name, role: 'viewer' });
  client.close();
  const closed = loggedHead(await stopMaster(cluster), 'audit ledger head at close');

  // The attacker holds the key: drop the last three rows and seal the shorter chain as the master would.
  const key = Buffer.from(readFileSync(join(cluster.dataDir, 'audit.key'), 'utf8').trim(), 'hex');
  const db = new Database(join(cluster.dataDir, 'titan.db'));
  try {
    db.prepare('DELETE FROM audit_log WHERE seq > ?').run(closed.auditHeadSeq - 3);
    const last = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string };
    db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'audit_log'").run(last.seq);
    const seal = createHmac('sha256', key).update(`head|${last.seq}|${last.hash}`).digest('hex');
    db.prepare("UPDATE meta SET value = ? WHERE key = 'audit.head'").run(seal);
  } finally {
    db.close();
  }

  await cluster.startMaster([], INFO);
  const verify = await cluster.cli(['audit', 'verify']);
  assert.equal(verify.code, 0, `a re-sealed cut is invisible inside the data dir: ${verify.stdout}${verify.stderr}`);
  const opened = loggedHead(cluster.masterLog, 'audit ledger head at open');
  assert.equal(opened.auditRows, closed.auditRows - 3);
  assert.notEqual(opened.auditHeadHash, closed.auditHeadHash);
});
