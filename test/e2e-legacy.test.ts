import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { makeZip } from '../src/master/legacy/zip-fixture.js';
import { Cluster, MAIN, until } from './harness.js';
import { b64, OP, runPayload, v1 } from './v1-client.js';

describe('the original Titan protocol v1, with --allow-legacy-unauthenticated', () => {
  const cluster = new Cluster();
  // These tests poll v1 status every 50 ms, faster than the 150 requests per 10 s all v1 clients
  // share as legacy-v1; roles and the rate limit on v1 are tested in e2e-legacy-roles.
  const flags = ['--allow-legacy-unauthenticated', '--rate-limit', 'off'];
  const status = async (name: string): Promise<string> => (await v1(cluster.port, OP.GET_JOB_STATUS, name)).text;
  const finished = (name: string, want = 'COMPLETED'): Promise<string> =>
    until(
      `${name} to be ${want}`,
      async () => {
        const s = await status(name);
        if (s === want) return s;
        if (['FAILED', 'DEAD', 'CANCELLED'].includes(s)) throw new Error(`${name} ended ${s}`);
        return undefined;
      },
      30_000,
    );

  before(async () => {
    await cluster.startMaster(flags);
    await cluster.startWorker('w1', { slots: 4 });
  });
  after(() => cluster.close());

  test('a 3-job DAG of base64 scripts runs in order, reports COMPLETED by DAG-<ID>, and returns each job output', async () => {
    const extract = 'import os\nprint("extract done")\nopen(os.path.join(os.environ["TITAN_SHARED_DIR"], "a.txt"), "w").write("alpha")\n';
    const transform = 'echo "transform $1 $2"\ncat "$TITAN_SHARED_DIR/a.txt"; echo\n';
    const load = 'import sys\nprint("load saw", open(__import__("os").environ["TITAN_SHARED_DIR"] + "/a.txt").read(), sys.argv[1:])\n';
    const payload = [
      runPayload('extract', 'extract.py', '', extract, []),
      runPayload('transform', 'transform.sh', 'x y', transform, ['extract']),
      runPayload('load', 'load.py', '--final', load, ['extract', 'transform'], true),
    ].join(' ; ');
    assert.deepEqual(await v1(cluster.port, OP.SUBMIT_DAG, payload), { opcode: OP.ACK, text: 'DAG_ACCEPTED' });
    assert.match(await status('DAG-load'), /^(PENDING|RUNNING|COMPLETED)$/);
    await finished('DAG-load');
    assert.equal(await status('DAG-extract'), 'COMPLETED');
    assert.equal(await status('DAG-transform'), 'COMPLETED');
    assert.deepEqual(await v1(cluster.port, OP.GET_LOGS, 'DAG-transform'), { opcode: OP.ACK, text: 'transform x y\nalpha' });
    assert.equal((await v1(cluster.port, OP.GET_LOGS, 'DAG-load')).text, "load saw alpha ['--final']");
    assert.equal(await status('DAG-never-submitted'), 'NULL', 'the original answers NULL for a job it does not know');
  });

  test('the KV store: set/get, sadd answers 1 new / 0 present, smembers is comma-separated, shared with native clients', async () => {
    assert.equal((await v1(cluster.port, OP.KV_SET, 'color|deep|blue')).text, 'OK');
    assert.equal((await v1(cluster.port, OP.KV_GET, 'color')).text, 'deep|blue');
    assert.equal((await v1(cluster.port, OP.KV_GET, 'no-such-key')).text, 'NULL');
    assert.equal((await v1(cluster.port, OP.KV_SADD, 'fruits|apple')).text, '1');
    assert.equal((await v1(cluster.port, OP.KV_SADD, 'fruits|apple')).text, '0');
    assert.equal((await v1(cluster.port, OP.KV_SADD, 'fruits|pear')).text, '1');
    assert.equal((await v1(cluster.port, OP.KV_SMEMBERS, 'fruits')).text, 'apple,pear');
    assert.equal((await v1(cluster.port, OP.KV_SMEMBERS, 'nothing-here')).text, '');
    const native = await cluster.client();
    assert.equal(await native.kv.get('color'), 'deep|blue');
    const wrong = await v1(cluster.port, OP.KV_GET, 'fruits');
    assert.equal(wrong.opcode, OP.ERROR);
    assert.match(wrong.text, /^ERROR: WRONGTYPE/);
  });

  test('an uploaded asset is fetched back as the same base64; a missing one is an ERROR', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255, 10, 13]).toString('base64');
    assert.deepEqual(await v1(cluster.port, OP.UPLOAD_ASSET, `data.bin|${bytes}`), { opcode: OP.ACK, text: 'UPLOAD_SUCCESS' });
    assert.deepEqual(await v1(cluster.port, OP.FETCH_ASSET, 'data.bin'), { opcode: OP.ACK, text: bytes });
    const missing = await v1(cluster.port, OP.FETCH_ASSET, 'nope.bin');
    assert.equal(missing.opcode, OP.ERROR);
    assert.match(missing.text, /^ERROR/);
  });

  test('RUN_ARCHIVE runs an entry of an uploaded project zip, next to the files it imports', async () => {
    const zip = makeZip({
      'main.py': 'import sys\nfrom lib.helper import greet\nprint(greet(sys.argv[1]))\n',
      'lib/__init__.py': '',
      'lib/helper.py': 'def greet(n):\n    return "hello " + n\n',
    });
    assert.equal((await v1(cluster.port, OP.UPLOAD_ASSET, `project.zip|${zip.toString('base64')}`)).text, 'UPLOAD_SUCCESS');
    assert.equal((await v1(cluster.port, OP.SUBMIT_DAG, 'zipped|RUN_ARCHIVE|project.zip/main.py|archive|GENERAL|1|0|[]')).text, 'DAG_ACCEPTED');
    await finished('DAG-zipped');
    assert.equal((await v1(cluster.port, OP.GET_LOGS, 'DAG-zipped')).text, 'hello archive');
  });

  test('a malformed job, a cycle and an unknown parent are refused with ERROR: saying why; nothing is submitted', async () => {
    const malformed = await v1(cluster.port, OP.SUBMIT_DAG, 'broken|RUN_PAYLOAD|x.py|onlyfourfields');
    assert.equal(malformed.opcode, OP.ERROR);
    assert.match(malformed.text, /^ERROR: job 1 \(broken\): RUN_PAYLOAD takes 9 fields/);
    const cycle = await v1(
      cluster.port,
      OP.SUBMIT_DAG,
      [runPayload('c1', 'a.sh', '', 'true', ['c2']), runPayload('c2', 'b.sh', '', 'true', ['c1'])].join(' ; '),
    );
    assert.match(cycle.text, /^ERROR: the jobs form a cycle \(c1 -> c2 -> c1/);
    assert.equal(await status('DAG-c1'), 'NULL');
    const orphan = await v1(cluster.port, OP.SUBMIT_DAG, runPayload('orphan', 'a.sh', '', 'true', ['ghost']));
    assert.match(orphan.text, /^ERROR: job orphan depends on ghost, which is not in this submission/);
  });

  test('a DEPLOY_PAYLOAD service becomes RUNNING, answers on its port, and OP_STOP stops it', async () => {
    const server =
      'import http.server, os\nclass H(http.server.BaseHTTPRequestHandler):\n    def do_GET(self):\n        self.send_response(200); self.end_headers(); self.wfile.write(b"legacy pong")\n    def log_message(self, *a): pass\nhttp.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()\n';
    const accepted = await v1(cluster.port, OP.SUBMIT_DAG, `web|DEPLOY_PAYLOAD|web.py|${b64(server)}|0|GENERAL|1|0|[]`);
    assert.equal(accepted.text, 'DAG_ACCEPTED');
    await finished('DAG-web', 'RUNNING');
    const client = await cluster.client();
    const web = await until('the service to be ready', async () => (await client.services()).find((s) => s.name === 'DAG-web' && s.ready));
    const answer = await fetch(`http://127.0.0.1:${web.port ?? 0}/`, { signal: AbortSignal.timeout(3_000) });
    assert.equal(await answer.text(), 'legacy pong');
    assert.deepEqual(await v1(cluster.port, OP.STOP, 'DAG-web'), { opcode: OP.ACK, text: 'STOPPED' });
    assert.equal(await status('DAG-web'), 'CANCELLED');
  });

  test('a running job is cancelled by its DAG-<ID> name', async () => {
    assert.equal((await v1(cluster.port, OP.SUBMIT_DAG, runPayload('sleeper', 'sleep.sh', '', 'echo started; sleep 30', []))).text, 'DAG_ACCEPTED');
    await finished('DAG-sleeper', 'RUNNING');
    assert.deepEqual(await v1(cluster.port, OP.CANCEL_JOB, 'DAG-sleeper'), { opcode: OP.ACK, text: 'CANCELLED' });
    await until('the cancel to land', async () => (await status('DAG-sleeper')) === 'CANCELLED');
    assert.match((await v1(cluster.port, OP.CANCEL_JOB, 'DAG-sleeper')).text, /^ERROR: DAG-sleeper already finished \(CANCELLED\)/);
  });

  test('OP_STATS reads as text with each worker and its load; OP_STATS_JSON is JSON', async () => {
    const text = (await v1(cluster.port, OP.STATS, '')).text;
    assert.match(text, /Active Workers: 1/);
    assert.match(text, /w1 @ .* load \d+\/4/);
    const json = JSON.parse((await v1(cluster.port, OP.STATS_JSON, '')).text) as { workers: Array<{ id: string; slots: number }> };
    assert.deepEqual(
      json.workers.map((w) => [w.id, w.slots]),
      [['w1', 4]],
    );
  });

  test('names survive a master restart, and a resubmitted ID moves its name to the new run', async () => {
    await cluster.killMaster();
    await cluster.startMaster(flags);
    assert.equal(await status('DAG-load'), 'COMPLETED');
    assert.equal((await v1(cluster.port, OP.GET_LOGS, 'DAG-transform')).text, 'transform x y\nalpha');
    await until('w1 to reconnect', async () => (await v1(cluster.port, OP.STATS, '')).text.includes('Active Workers: 1'));
    assert.equal((await v1(cluster.port, OP.SUBMIT_DAG, runPayload('transform', 'transform.sh', '', 'echo second run', []))).text, 'DAG_ACCEPTED');
    await until('the second run to finish', async () => (await v1(cluster.port, OP.GET_LOGS, 'DAG-transform')).text === 'second run', 30_000);
  });
});

describe('protocol v1 without --allow-legacy-unauthenticated', () => {
  const cluster = new Cluster();
  before(() => cluster.startMaster());
  after(() => cluster.close());

  test('a v1 request is answered OP_ERROR naming the flag, and native clients are unaffected', async () => {
    const reply = await v1(cluster.port, OP.STATS, '');
    assert.equal(reply.opcode, OP.ERROR);
    assert.match(reply.text, /^ERROR: .*--allow-legacy-unauthenticated/);
    const native = await cluster.client();
    assert.ok(Array.isArray((await native.stats()).workers));
    const refusal = (await native.security.audit(100)).find((r) => r.action === 'V1 STATS');
    assert.equal(refusal?.who, 'anonymous', 'the refusal is in the audit ledger, as a bad token is');
    assert.match(refusal.result, /^denied: protocol v1 is off without --allow-legacy-unauthenticated/);
    assert.match(refusal.source, /^127\.0\.0\.1:\d+$/);
  });

  test('the master refuses to start with the flag on a non-loopback address', () => {
    const run = spawnSync(
      process.execPath,
      [MAIN, 'master', '--listen', '0.0.0.0:0', '--allow-legacy-unauthenticated', '--data-dir', join(cluster.dir, 'refused')],
      {
        encoding: 'utf8',
        env: { ...process.env, TITAN_HOME: cluster.dir },
        timeout: 15_000,
      },
    );
    assert.equal(run.status, 2, run.stderr);
    assert.match(
      run.stderr,
      /--allow-legacy-unauthenticated .* only allowed when the master listens on a loopback address; listen on 127\.0\.0\.1 \(not 0\.0\.0\.0\)/,
    );
  });
});
