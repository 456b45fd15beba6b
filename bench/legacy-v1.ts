/**
 * `node dist/bench/legacy-v1.js` (also run by `npm run bench`): what checking protocol v1
 * requests against --legacy-role costs. The v1 round trip (one connection per request, as the
 * original SDK does) is shown beside its floor, a bare node server answering the same bytes on
 * loopback, measured in the same run. Nothing is asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/common/log.js';
import { legacyIdentity } from '../src/security/legacy-permissions.js';
import { encodeLegacyFrame, LegacyOp } from '../src/protocol/legacy-frame.js';
import { composeMaster } from '../src/cli/master-process.js';
import { MASTER_DEFAULTS } from '../src/master/options.js';
import { legacyRequirementOf } from '../src/security/legacy-permissions.js';
import { can } from '../src/security/policy.js';
import { now, round } from './measure.js';

/** One v1 request on its own connection; resolves when the master has answered and closed. */
function v1Request(port: number, frame: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(frame));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('v1 request: no answer within 5 s'));
    }, 5_000);
    socket.on('data', () => undefined);
    socket.on('error', reject);
    socket.on('end', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
  });
}

/** Best of three runs of n sequential requests, in µs per request. */
async function roundTripUs(port: number, frame: Buffer, n: number): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = now();
    for (let i = 0; i < n; i++) await v1Request(port, frame);
    runs.push(((now() - t0) * 1000) / n);
  }
  return round(Math.min(...runs), 1);
}

/** The floor: a bare server that answers each connection's first bytes with a v1 reply and closes. */
function bareServer(reply: Buffer): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => socket.end(reply));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

export async function legacyV1Figures(log: (line: string) => void = console.log): Promise<Record<string, number>> {
  const payload = `etl|RUN_PAYLOAD|etl.py|--day 1|${Buffer.from('print("hi")\n'.repeat(8)).toString('base64')}|GENERAL|1|0|[]`;
  const identity = legacyIdentity('operator');
  const n = 1_000_000;
  for (let i = 0; i < 1000; i++) legacyRequirementOf(LegacyOp.SUBMIT_DAG, payload);
  const t0 = now();
  for (let i = 0; i < n; i++) {
    const r = legacyRequirementOf(i % 2 === 0 ? LegacyOp.SUBMIT_DAG : LegacyOp.KV_SET, i % 2 === 0 ? payload : 'color|blue');
    if (r !== undefined) can(identity, r.action, r.resource);
  }
  const figures: Record<string, number> = { v1CheckUs: round(((now() - t0) * 1000) / n, 3) };

  const dir = mkdtempSync(join(tmpdir(), 'titan-bench-v1-'));
  const stats = encodeLegacyFrame(LegacyOp.STATS, '');
  const bare = await bareServer(encodeLegacyFrame(LegacyOp.ACK, 'Active Workers: 0'));
  const master = composeMaster(
    {
      ...MASTER_DEFAULTS,
      host: '127.0.0.1',
      port: 0,
      dataDir: join(dir, 'master'),
      token: 'bench-cluster-token-0123',
      allowLegacyUnauthenticated: true,
      rateLimit: null,
    },
    silentLogger(),
  );
  try {
    const port = await master.start();
    for (let i = 0; i < 100; i++) await v1Request(port, stats);
    figures.v1StatsRoundTripUs = await roundTripUs(port, stats, 500);
    figures.v1FloorRoundTripUs = await roundTripUs(bare.port, stats, 500);
  } finally {
    await master.close();
    bare.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  log('protocol v1 under --legacy-role (µs; floor in the same run)');
  log(`  legacy table + can()  ${figures.v1CheckUs} µs per request`);
  log(
    `  OP_STATS round trip   ${figures.v1StatsRoundTripUs} µs, one connection each (bare node server floor ${figures.v1FloorRoundTripUs} µs, ratio ${round(figures.v1StatsRoundTripUs / figures.v1FloorRoundTripUs, 2)})`,
  );
  return figures;
}

if (process.argv[1]?.endsWith('bench/legacy-v1.js') === true) await legacyV1Figures();
