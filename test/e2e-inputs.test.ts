import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Cluster, MAIN, TOKEN, outputOf } from './harness.js';
import { Flags } from '../src/protocol/frame.js';
import { Opcode } from '../src/protocol/opcodes.js';
import { frameOf, msgpackFrame, rawExchange } from './hostile-bodies.js';

/** A JSON body with one raw byte 0xff spliced in where `@` stands. */
function withBadByte(json: string): Buffer {
  const [before, after] = json.split('@') as [string, string];
  return Buffer.concat([Buffer.from(before), Buffer.from([0xff]), Buffer.from(after)]);
}

describe('inputs are what they say: invalid UTF-8, contradictory options, prototype keys', () => {
  const cluster = new Cluster();
  before(() => cluster.startMaster());
  after(() => cluster.close());

  const postJob = (body: string | Buffer): Promise<Response> =>
    fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body,
    });
  const refusal = async (res: Response): Promise<[number, string]> => [res.status, ((await res.json()) as { error: string }).error];

  test('invalid UTF-8 in args or env over HTTP is refused naming the field, not replaced', async () => {
    const [status, error] = await refusal(await postJob(withBadByte('{"run":{"kind":"command","command":"echo"},"args":["ok","a@b"]}')));
    assert.equal(status, 400, 'it was 201 with U+FFFD in place of the byte');
    assert.match(error, /POST \/api\/v1\/jobs body: args\[1\] is not valid UTF-8; send text as UTF-8 .*nothing was changed/);
    const env = await refusal(await postJob(withBadByte('{"run":{"kind":"command","command":"echo"},"env":{"A":"x@"}}')));
    assert.deepEqual([env[0], /env\.A is not valid UTF-8/.test(env[1])], [400, true]);
    const command = await refusal(await postJob(withBadByte('{"run":{"kind":"command","command":"echo @"}}')));
    assert.match(command[1], /run\.command is not valid UTF-8/);
  });

  test('invalid UTF-8 in a MessagePack string over TCP is refused naming the field', async () => {
    const auth = msgpackFrame(Opcode.AUTH, 1, { token: TOKEN, role: 'client' });
    // {rid: 2, body: {args: ["\xff"]}}
    const body = Buffer.from([0x82, 0xa3, 0x72, 0x69, 0x64, 0x02, 0xa4, 0x62, 0x6f, 0x64, 0x79, 0x81, 0xa4, 0x61, 0x72, 0x67, 0x73, 0x91, 0xa1, 0xff]);
    const outcome = await rawExchange(cluster.port, [auth, frameOf(Opcode.JOB_SUBMIT, 0, body)], 10_000);
    const error = outcome.frames.find((f) => (f.flags & Flags.ERROR) !== 0)?.body as { code: string; message: string } | undefined;
    assert.equal(error?.code, 'E_BAD_BODY');
    assert.match(error?.message ?? '', /body\.args\[0\] is not valid UTF-8/);
  });

  test('a __proto__ key gets a true message; constructor and prototype are plain keys', async () => {
    const [status, error] = await refusal(await postJob('{"run":{"kind":"command","command":"env"},"env":{"__proto__":"x"}}'));
    assert.equal(status, 400);
    assert.match(error, /the key "__proto__" \(in env\) is not accepted, it names the prototype of a JavaScript object; rename the key/);
    assert.doesNotMatch(error, /not valid JSON/, 'it was answered "Body is not valid JSON"');
    const plain = await postJob('{"run":{"kind":"command","command":"env"},"env":{"constructor":"a","prototype":"b"}}');
    assert.equal(plain.status, 201, await plain.clone().text());
    const { jobId } = (await plain.json()) as { jobId: string };
    const client = await cluster.client();
    assert.equal((await client.status(jobId)).id, jobId);
  });

  test('a delay and an instant together are refused, on the CLI and over HTTP', async () => {
    const cli = await cluster.cli(['run', '--delay', '5s', '--at', '2030-01-01T00:00:00Z', '--', 'true']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /--delay 5s and --at 2030-01-01T00:00:00Z contradict each other \(a delay from now, or an instant\); give one of them/);
    const dag = await cluster.cli(['dag', 'x.yaml', '--delay', '5s', '--at', '2030-01-01T00:00:00Z']);
    assert.notEqual(dag.code, 0);
    assert.match(dag.stderr, /--delay 5s and --at .* contradict each other/);
    const [status, error] = await refusal(
      await postJob(JSON.stringify({ run: { kind: 'command', command: 'true' }, delaySeconds: 5, runAt: Date.now() + 60_000 })),
    );
    assert.equal(status, 400);
    assert.match(error, /delaySeconds and runAt contradict each other/);
  });

  test('bytes that are not UTF-8 on the titan run command line are refused, not run as U+FFFD', async () => {
    const child = spawn('sh', ['-c', `"$NODE" "$MAIN" run --master 127.0.0.1:${cluster.port} -- echo "a$(printf '\\377')b"`], {
      env: { ...process.env, NODE: process.execPath, MAIN, TITAN_TOKEN: TOKEN, TITAN_HOME: cluster.dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = await outputOf(child);
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /argument 1 is not valid UTF-8 \(it reached titan as U\+FFFD, the replacement character\)/);
    assert.equal(out.stdout, '', 'no job id: nothing was submitted');
  });
});
