import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TitanError } from '../src/common/errors.js';
import { encodeMessage } from '../src/protocol/codec.js';
import { Opcode } from '../src/protocol/opcodes.js';
import { frameBytes, mangle, mutate, mutateYaml, pick, pickTemplate, PIPELINES, random } from './fuzz-inputs.js';
import { connectPeer } from '../src/sdk/connect.js';
import { Cluster, TOKEN, until } from './harness.js';

/**
 * The hostile-input fuzz of issue 7: 100,000 random and mutated frames and 1,000 mutated YAML
 * pipelines against a real master process. Every frame is answered or the connection refused,
 * the master keeps serving, and nothing accepted before (or during) the fuzz is lost.
 * Seeded, so a failure replays; bounded in count and time.
 */
const STRUCTURED = 90_000;
const RAW = 10_000;
const YAMLS = 1_000;

/** One raw connection: optionally authenticate, send the bytes, half-close; resolves with whether any answer frame came back. Never hangs. */
function rawExchange(port: number, bytes: Buffer, authenticate: boolean): Promise<'answered' | 'closed'> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    let authed = !authenticate;
    const socket: Socket = connect({ host: '127.0.0.1', port }, () => {
      if (authenticate) socket.write(encodeMessage(Opcode.AUTH, 0, { rid: 1, body: { token: TOKEN, role: 'client' } }, false));
      else socket.end(bytes);
    });
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (!authed && got.length >= 8 && got.length >= 8 + got.readUInt32BE(4)) {
        authed = true;
        got = got.subarray(8 + got.readUInt32BE(4));
        socket.end(bytes);
      }
    });
    socket.on('error', () => undefined);
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('close', () => resolve(authed && got.length >= 8 ? 'answered' : 'closed'));
  });
}

test('100,000 random and mutated frames and 1,000 mutated YAML pipelines: each answered or refused, the master keeps serving, nothing accepted is lost', async (t) => {
  const cluster = new Cluster();
  t.after(() => cluster.close());
  let mark = Date.now();
  const phase = (name: string): void => {
    t.diagnostic(`${name}: ${Date.now() - mark} ms`);
    mark = Date.now();
  };
  await cluster.startMaster();
  const client = await cluster.client();

  // Before: finished jobs (run by a worker that then leaves, so nothing the fuzz submits ever runs) and KV values.
  await cluster.startWorker('w1');
  const before = await Promise.all(Array.from({ length: 10 }, (_, i) => client.submit({ command: `echo keep-${i}` })));
  for (const { jobId } of before) assert.equal((await client.wait(jobId, 20_000)).state, 'succeeded');
  await cluster.killWorker('w1');
  for (let i = 0; i < 10; i++) await client.kv.put(`keep.k${i}`, `value-${i}`);
  const queued = await client.submit({ command: 'echo later' });

  phase('setup');
  // 90,000 well-framed requests with mutated bodies, pipelined on one authenticated connection.
  const { peer } = await connectPeer({ host: '127.0.0.1', port: cluster.port, token: TOKEN, role: 'client' });
  t.after(() => peer.close());
  let ok = 0;
  let refused = 0;
  const accepted: string[] = [];
  for (let sent = 0; sent < STRUCTURED; sent += 1_000) {
    await Promise.all(
      Array.from({ length: 1_000 }, async () => {
        const [opcode, body] = pickTemplate();
        try {
          const answer = (await peer.request(opcode, mutate(body), { timeoutMs: 20_000, json: random() < 0.2 })) as { jobId?: unknown };
          ok++;
          if (opcode === Opcode.JOB_SUBMIT && typeof answer.jobId === 'string') accepted.push(answer.jobId);
        } catch (err) {
          assert.ok(err instanceof TitanError, `a refusal is a TitanError, got ${String(err)}`);
          assert.notEqual(err.code, 'E_TIMEOUT', 'every request is answered');
          assert.notEqual(err.code, 'E_CONNECTION_CLOSED', 'a decodable frame never costs the connection');
          refused++;
        }
      }),
    );
  }
  assert.equal(ok + refused, STRUCTURED);
  assert.ok(ok > 1_000 && refused > 1_000, `both valid and invalid requests were made (ok ${ok}, refused ${refused})`);

  phase(`${STRUCTURED} structured frames`);
  // 10,000 byte-mangled frames, each on its own connection (half of them authenticated first).
  let answered = 0;
  for (let sent = 0; sent < RAW; sent += 100) {
    const outcomes = await Promise.all(Array.from({ length: 100 }, (_, k) => rawExchange(cluster.port, mangle(frameBytes(k + 2)), k % 2 === 0)));
    answered += outcomes.filter((o) => o === 'answered').length;
  }
  assert.ok(answered > RAW / 4, `many mangled frames get an answer frame back, not just a closed socket (${answered} of ${RAW})`);

  phase(`${RAW} mangled frames`);
  // 1,000 mutated YAML pipelines through the SDK: refused with their problems listed, or accepted as DAG runs.
  const dir = join(cluster.dir, 'yaml');
  mkdirSync(dir);
  const dags: string[] = [];
  let yamlRefused = 0;
  for (let i = 0; i < YAMLS; i++) {
    const file = join(dir, `p${i}.yaml`);
    writeFileSync(file, i < 10 ? pick(PIPELINES) : mutateYaml(pick(PIPELINES)));
    try {
      dags.push((await client.submitPipeline(file)).dagId);
    } catch (err) {
      assert.ok(err instanceof TitanError, `pipeline ${i} was refused with a TitanError, not ${String(err)}`);
      yamlRefused++;
    }
  }
  assert.ok(dags.length >= 10 && yamlRefused > 100, `some pipelines accepted (${dags.length}), many refused (${yamlRefused})`);

  phase(`${YAMLS} YAML pipelines`);
  // After: the master still serves, and everything accepted is there, unchanged.
  assert.equal(cluster.master?.exitCode, null, 'the master process is alive');
  for (const { jobId } of before) assert.equal((await client.status(jobId)).state, 'succeeded');
  for (let i = 0; i < 10; i++) assert.equal(await client.kv.get(`keep.k${i}`), `value-${i}`);
  for (const jobId of accepted.slice(0, 500)) await client.status(jobId);
  for (const dagId of dags.slice(0, 200)) await client.dagStatus(dagId);
  assert.equal((await client.status(queued.jobId)).state, 'queued');
  const verdict = await client.security.verifyAudit();
  assert.equal(verdict.ok, true, `the audit ledger chain is intact: ${JSON.stringify(verdict)}`);
  const { jobId: fresh } = await client.submit({ command: 'echo after' });

  // And all of it survives the master being killed and restarted.
  await cluster.killMaster();
  await cluster.startMaster();
  const again = await cluster.client();
  await until('the restarted master to answer', async () => (await again.stats()) !== undefined);
  for (const { jobId } of before) assert.equal((await again.status(jobId)).state, 'succeeded');
  for (let i = 0; i < 10; i++) assert.equal(await again.kv.get(`keep.k${i}`), `value-${i}`);
  for (const jobId of [queued.jobId, fresh, ...accepted.slice(0, 200)]) await again.status(jobId);
  for (const dagId of dags.slice(0, 100)) await again.dagStatus(dagId);
  phase('checks and restart');
});
