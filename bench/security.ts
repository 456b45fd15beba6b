/**
 * `node dist/bench/security.js` (also run at the end of `npm run bench`): what the security layer
 * costs per request, each figure beside its floor measured in the same run. Nothing is asserted.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { silentLogger } from '../src/common/log.js';
import { composeMaster } from '../src/cli/master-process.js';
import { MASTER_DEFAULTS } from '../src/master/options.js';
import { Opcode } from '../src/protocol/opcodes.js';
import { connectPeer } from '../src/sdk/connect.js';
import { AuditLedger, openLedgerState } from '../src/security/audit-ledger.js';
import { immediate } from '../src/security/security-rows.js';
import { sqliteLedgerRows, sqliteTokenRows } from '../src/security/sqlite-security-rows.js';
import { requirementOf } from '../src/security/opcode-permissions.js';
import { can, type Identity } from '../src/security/policy.js';
import { JobTokens } from '../src/security/job-tokens.js';
import { RateLimiter } from '../src/security/rate-limiter.js';
import { TokenStore } from '../src/security/token-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { now, round } from './measure.js';
import { decode, encode } from '@msgpack/msgpack';
import { checkMsgpackShape, DEFAULT_BODY_LIMITS } from '../src/protocol/body-limits.js';
import { parseJsonBody } from '../src/protocol/json-body.js';

/** A realistic submit envelope: a command, 10 args, 20 env vars. */
function submitEnvelope(): unknown {
  const env = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`VAR_${i}`, `value-${i}-${'x'.repeat(20)}`]));
  return {
    rid: 7,
    body: {
      run: { kind: 'command', command: 'python3 train.py' },
      args: Array.from({ length: 10 }, (_, i) => `--opt-${i}=${i}`),
      env,
      requirement: ['GENERAL'],
      priority: 0,
    },
  };
}

/** The decode limits' price per body: plain decode (the floor) against checked decode, MessagePack and JSON. */
export function decodeFigures(): Record<string, number> {
  const raise = { depth: 'x', entries: 'y' };
  const packed = encode(submitEnvelope());
  const json = Buffer.from(JSON.stringify(submitEnvelope()));
  return {
    msgpackDecodeFloorUs: perCall(100_000, () => decode(packed)),
    msgpackDecodeCheckedUs: perCall(100_000, () => {
      checkMsgpackShape(packed, DEFAULT_BODY_LIMITS, 'body', raise);
      decode(packed);
    }),
    jsonParseFloorUs: perCall(100_000, () => JSON.parse(json.toString('utf8'))),
    jsonParseCheckedUs: perCall(100_000, () => parseJsonBody(json, DEFAULT_BODY_LIMITS, { what: 'body', raise })),
  };
}

/** Mean microseconds per call of fn over n calls. */
function perCall(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 1000); i++) fn(i);
  const t0 = now();
  for (let i = 0; i < n; i++) fn(i);
  return round(((now() - t0) * 1000) / n, 3);
}

/** Mean microseconds of one request's round trip (`body` may vary with i so writes do not repeat). */
async function roundTrip(port: number, token: string, n: number, opcode: number = Opcode.PING, body: (i: number) => unknown = () => ({})): Promise<number> {
  const { peer } = await connectPeer({ host: '127.0.0.1', port, token, role: 'client' });
  for (let i = 0; i < 200; i++) await peer.request(opcode, body(i));
  const t0 = now();
  for (let i = 0; i < n; i++) await peer.request(opcode, body(i));
  const us = ((now() - t0) * 1000) / n;
  peer.close();
  return round(us, 1);
}

export async function securityFigures(log: (line: string) => void = console.log): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'titan-bench-security-'));
  try {
    const path = join(dir, 'titan.db');
    SqliteStore.open(path).close();
    const db = new Database(path);
    db.pragma('synchronous = NORMAL');
    const tokens = new TokenStore(sqliteTokenRows(db), []);
    const { token } = tokens.create({ name: 'bench', role: 'operator' }, 1);
    const identity: Identity = { kind: 'token', name: 'bench', tokenId: 'x', role: 'operator', namespace: 'team-a', mayActAsWorker: false };
    const body = { jobId: 'team-a.job-1' };
    const limiter = new RateLimiter({ requests: 150, windowMs: 10_000 });
    const figures: Record<string, number> = {
      sha256FloorUs: perCall(100_000, () => createHash('sha256').update(token).digest()),
      tokenVerifyUs: perCall(100_000, (i) => tokens.verify(token, i)),
      canUs: perCall(1_000_000, () => {
        const r = requirementOf(Opcode.JOB_CANCEL, body);
        can(identity, r.action, r.resource);
      }),
      rateLimiterUs: perCall(1_000_000, (i) => limiter.take(`token-${i % 1000}`, i)),
    };
    Object.assign(figures, decodeFigures());
    const jobTokens = new JobTokens(Buffer.alloc(32, 2));
    const jobToken = jobTokens.mint('team-a.d1.step', 1);
    figures.jobTokenVerifyUs = perCall(100_000, () => jobTokens.verify(jobToken));
    const ledgerRows = sqliteLedgerRows(db);
    const ledger = new AuditLedger(ledgerRows, immediate(openLedgerState(ledgerRows)), Buffer.alloc(32, 1));
    const entry = (i: number) => ({ at: i, who: 'bench', role: 'operator', action: 'JOB_SUBMIT', target: `job-${i}`, source: '127.0.0.1', result: 'ok' });
    figures.auditAppendEachUs = perCall(5_000, (i) => ledger.append(entry(i)));
    figures.auditAppendBatchedUs = perCall(50_000, (i) => {
      ledger.enqueue(entry(i));
      if (i % 100 === 99) void ledger.flush(); // SQLite: written on return
    });
    const verifyStart = now();
    const verdict = await ledger.verify();
    figures.auditVerifyRowsPerMs = round(verdict.rows / (now() - verifyStart), 0);
    db.close();

    const master = composeMaster(
      {
        ...MASTER_DEFAULTS,
        host: '127.0.0.1',
        port: 0,
        dataDir: join(dir, 'master'),
        token: 'bench-cluster-token-0123',
        rateLimit: { requests: 1_000_000, windowMs: 10_000 },
      },
      silentLogger(),
    );
    const port = await master.start();
    const api = master.security.createToken({ name: 'bench', role: 'operator' }).token;
    // Interleaved, best of three each, so neither side gets the warmer process.
    const rounds = { cluster: [] as number[], api: [] as number[], read: [] as number[], write: [] as number[] };
    for (let round = 0; round < 3; round++) {
      rounds.cluster.push(await roundTrip(port, 'bench-cluster-token-0123', 2_000));
      rounds.api.push(await roundTrip(port, api, 2_000));
      // A read is not a ledger row; a write is two, the first committed before it runs.
      rounds.read.push(await roundTrip(port, api, 2_000, Opcode.KV_GET, () => ({ key: 'bench-key' })));
      rounds.write.push(await roundTrip(port, api, 2_000, Opcode.KV_PUT, (i) => ({ key: 'bench-key', value: String(i) })));
    }
    figures.pingClusterTokenUs = Math.min(...rounds.cluster);
    figures.pingApiTokenUs = Math.min(...rounds.api);
    figures.kvGetUs = Math.min(...rounds.read);
    figures.kvPutAuditedUs = Math.min(...rounds.write);
    await master.close();

    log('security (µs per call; floors in the same run)');
    log(`  token verify       ${figures.tokenVerifyUs} µs   (sha256 floor ${figures.sha256FloorUs} µs)`);
    log(`  can() + opcode map ${figures.canUs} µs`);
    log(`  rate limiter take  ${figures.rateLimiterUs} µs`);
    log(
      `  audit append       ${figures.auditAppendEachUs} µs each, ${figures.auditAppendBatchedUs} µs batched (as the master does); verify ${figures.auditVerifyRowsPerMs} rows/ms`,
    );
    log(`  job token verify   ${figures.jobTokenVerifyUs} µs (HMAC-SHA256)`);
    log(
      `  body decode        MessagePack ${figures.msgpackDecodeCheckedUs} µs checked vs ${figures.msgpackDecodeFloorUs} µs plain; JSON ${figures.jsonParseCheckedUs} µs vs ${figures.jsonParseFloorUs} µs (a submit with 10 args, 20 env vars)`,
    );
    log(`  PING round trip    ${figures.pingApiTokenUs} µs with an API token (limiter + checks) vs ${figures.pingClusterTokenUs} µs with the cluster token`);
    log(`  KV round trip      ${figures.kvPutAuditedUs} µs a put (two ledger rows, one before it runs) vs ${figures.kvGetUs} µs a get (no row)`);
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('bench/security.js') === true) await securityFigures();
