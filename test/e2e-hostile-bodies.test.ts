import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, TOKEN } from './harness.js';
import { Flags } from '../src/protocol/frame.js';
import { Opcode } from '../src/protocol/opcodes.js';
import { frameOf, metrics, msgpackFrame, rawExchange, whilePolling } from './hostile-bodies.js';

const MiB = 1024 * 1024;
/** Generous: the point is that the master keeps answering, not how fast on a shared machine. */
const MAX_LOOP_LAG_S = 1;
const MAX_RSS_GROWTH_MB = 200;

function errorOf(outcome: Awaited<ReturnType<typeof rawExchange>>): { code: string; message: string } {
  const error = outcome.frames.find((f) => (f.flags & Flags.ERROR) !== 0);
  assert.ok(error !== undefined, `expected an error frame, got ${JSON.stringify(outcome.frames)}`);
  return error.body as { code: string; message: string };
}

const auth = msgpackFrame(Opcode.AUTH, 1, { token: TOKEN, role: 'client' });

describe('no single request freezes the master (decode limits)', () => {
  const cluster = new Cluster();
  /** Each attack's worst loop lag, printed for the notes (asserted only against the generous bound). */
  const lags: string[] = [];
  before(() => cluster.startMaster());
  after(async () => {
    console.log(`master loop lag max per attack (s): ${lags.join(' ')}`);
    await cluster.close();
  });

  async function rssMb(): Promise<number> {
    return ((await metrics(cluster.httpPort, TOKEN)).get('titan_master_process_resident_memory_bytes') ?? 0) / MiB;
  }

  /** Runs an attack while /healthz is polled; asserts every poll answered and the loop never stalled. */
  async function survives<T>(attack: () => Promise<T>): Promise<T> {
    await metrics(cluster.httpPort, TOKEN); // resets the loop-lag histogram
    const { result, polls } = await whilePolling(cluster.httpPort, attack);
    assert.ok(polls.length > 0);
    assert.deepEqual(
      polls.filter((p) => p.status !== 200),
      [],
      'every /healthz poll is answered',
    );
    const lag = (await metrics(cluster.httpPort, TOKEN)).get('titan_master_nodejs_eventloop_lag_max_seconds');
    assert.ok(lag !== undefined && lag < MAX_LOOP_LAG_S, `loop lag max ${lag} s`);
    lags.push(lag.toFixed(3));
    return result;
  }

  test('a 16 MiB nested MessagePack AUTH frame is refused from its header and the connection closed', async () => {
    const before = await rssMb();
    const nested = Buffer.alloc(16 * MiB, 0x91); // [[[[…]]]]: 16 million levels
    const outcome = await survives(() => rawExchange(cluster.port, [frameOf(Opcode.AUTH, 0, nested)]));
    const error = errorOf(outcome);
    assert.equal(error.code, 'E_FRAME_TOO_LARGE');
    assert.match(error.message, /over the 8192-byte maximum; until AUTH succeeds a connection may send only frames of at most 8192 bytes/);
    assert.equal(outcome.closedByMaster, true);
    assert.ok((await rssMb()) - before < MAX_RSS_GROWTH_MB);
  });

  test('a small nested AUTH frame is refused for its depth, not decoded', async () => {
    const outcome = await survives(() => rawExchange(cluster.port, [frameOf(Opcode.AUTH, 0, Buffer.alloc(8000, 0x91))]));
    const error = errorOf(outcome);
    assert.equal(error.code, 'E_BAD_BODY');
    assert.match(error.message, /deeper than 64 levels .*raise the master's --max-body-depth/);
    assert.equal(outcome.closedByMaster, true);
  });

  test('after AUTH: deep and wide MessagePack and JSON bodies are refused with the limit named', async () => {
    const before = await rssMb();
    const deep = Buffer.concat([Buffer.from([0x82, 0xa3, 0x72, 0x69, 0x64, 0x01, 0xa4, 0x62, 0x6f, 0x64, 0x79]), Buffer.alloc(4 * MiB, 0x91)]);
    const wideHeader = Buffer.from([0x82, 0xa3, 0x72, 0x69, 0x64, 0x01, 0xa4, 0x62, 0x6f, 0x64, 0x79, 0xdd, 0, 0, 0, 0]);
    wideHeader.writeUInt32BE(8 * MiB, 12);
    const wide = Buffer.concat([wideHeader, Buffer.alloc(8 * MiB, 0xc0)]); // 8 million nils
    const deepJson = Buffer.from(`{"rid":1,"body":${'['.repeat(2 * MiB)}${']'.repeat(2 * MiB)}}`);
    const cases: [Buffer, RegExp][] = [
      [frameOf(Opcode.JOB_SUBMIT, 0, deep), /deeper than 64 levels \(at body\[0\]/],
      [frameOf(Opcode.JOB_SUBMIT, 0, wide), /more than 100000 array items and map entries; split it .*--max-body-entries/],
      [frameOf(Opcode.JOB_SUBMIT, Flags.JSON, deepJson), /deeper than 64 levels/],
    ];
    for (const [frame, message] of cases) {
      const outcome = await survives(() => rawExchange(cluster.port, [auth, frame]));
      assert.equal(outcome.frames[0]?.flags, Flags.RESPONSE, 'AUTH answered first');
      const error = errorOf(outcome);
      assert.equal(error.code, 'E_BAD_BODY');
      assert.match(error.message, message);
      assert.equal(outcome.closedByMaster, true);
    }
    assert.ok((await rssMb()) - before < MAX_RSS_GROWTH_MB);
  });

  test('HTTP JSON bodies have the same limits', async () => {
    const post = (body: string): Promise<Response> =>
      fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body,
      });
    const deep = await survives(() => post(`{"command":${'['.repeat(4 * MiB)}${']'.repeat(4 * MiB)}}`));
    assert.equal(deep.status, 400);
    assert.match(
      ((await deep.json()) as { error: string }).error,
      /POST \/api\/v1\/jobs body nests arrays\/maps deeper than 64 levels.*--max-body-depth on titan master/,
    );
    const wide = await survives(() => post(`{"command":[${'0,'.repeat(110_000)}0]}`));
    assert.equal(wide.status, 400);
    assert.match(((await wide.json()) as { error: string }).error, /more than 100000 array items/);
  });

  test('a pipelined AUTH and request in one write still work (only frames before AUTH are small)', async () => {
    const outcome = await rawExchange(cluster.port, [Buffer.concat([auth, msgpackFrame(Opcode.CLUSTER_STATS, 2, {})])], 5_000);
    assert.equal(outcome.frames.length >= 2, true, JSON.stringify(outcome.frames));
    assert.equal(
      outcome.frames.every((f) => (f.flags & Flags.ERROR) === 0),
      true,
      JSON.stringify(outcome.frames),
    );
  });

  describe('YAML pipelines sent to the master', () => {
    const submit = (yaml: string): Promise<Response> =>
      fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/dags`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ yaml }),
      });
    const job = (env: string): string => `name: p\njobs:\n  - id: a\n    command: "true"\n    env: {${env}}\n`;
    const keys = (n: number): string => Array.from({ length: n }, (_, i) => `K${i}: v`).join(', ');

    async function refused(yaml: string, message: RegExp): Promise<void> {
      const answer = await survives(() => submit(yaml));
      const body = (await answer.json()) as { error?: string };
      assert.equal(answer.status, 400, JSON.stringify(body).slice(0, 300));
      assert.match(body.error ?? '', message);
    }

    test('32,000 and 64,000 env keys are refused from a count before parsing, naming the limit and its flag', async () => {
      await refused(job(keys(32_000)), /more than 20000 map keys; split it into several DAGs or raise --max-pipeline-keys on titan master/);
      await refused(job(keys(64_000)), /more than 20000 map keys/);
    });

    test('5,000 keys are read off the loop, and an env over 1000 variables is refused naming the field', () =>
      refused(job(keys(5_000)), /jobs\.0\.env: at most 1000 variables; pass larger configuration as a file or a KV value|env.*at most 1000 variables/));

    test('a 4 MB document is refused naming the size limit and its flag', () =>
      refused(`name: p\n# ${'x'.repeat(4 * MiB)}\njobs: []\n`, /over the 1048576-byte limit; .*raise --max-pipeline-size on titan master/));

    test('2 MB of [[[ and deep block nesting are refused naming the depth limit', async () => {
      await refused(`name: p\njobs: ${'['.repeat(2 * MiB)}`, /over the 1048576-byte limit/);
      await refused(
        `name: p\njobs: ${'['.repeat(MiB - 100)}`,
        /pipeline\.yaml:2: collections nest deeper than 64 levels; .*--max-pipeline-depth on titan master/,
      );
      await refused(`name: p\njobs:\n${'- '.repeat(50_000)}x\n`, /collections nest (deeper than 64 levels|too deeply)|took longer than/);
    });

    test('a duplicate key is reported at its line, with the first one', () =>
      refused(
        `name: p\njobs:\n  - id: a\n    command: "true"\n    env: {${keys(5_000)}, K7: w}\n`,
        /pipeline\.yaml:5: key "K7" appears twice in this map \(first at line 5\); keep one/,
      ));
  });
});
