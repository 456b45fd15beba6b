import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Cluster } from './harness.js';
import { probeSandbox } from '../src/worker/confine/sandbox.js';

const sandbox = probeSandbox();

describe('the sandbox driver', () => {
  const cluster = new Cluster();
  before(async () => {
    if (sandbox.bwrap === null) return;
    await cluster.startMaster();
    await cluster.startWorker('boxed', { slots: 2, args: ['--driver', 'sandbox'] });
    await cluster.startWorker('plain', { slots: 2, tags: 'PLAIN', args: ['--allow-drivers', 'sandbox'] });
  });
  after(() => cluster.close());

  test('a sandboxed job writes its workspace but nothing outside it, and has a private /tmp', async (t) => {
    if (sandbox.bwrap === null) {
      t.skip(`sandbox driver unavailable here: ${sandbox.why}`);
      return;
    }
    // Outside /tmp (which the sandbox replaces): the checkout the tests run from.
    const outside = join(process.cwd(), `sandbox-probe-${process.pid}.txt`);
    const viaTmp = join(cluster.dir, 'outside.txt');
    const hostTmp = `/tmp/titan-sandbox-host-${process.pid}`;
    writeFileSync(hostTmp, 'host');
    t.after(() => void import('node:fs').then((fs) => fs.rmSync(hostTmp, { force: true })));
    const script = [
      'echo inside > "$TITAN_WORKSPACE/ok.txt" && echo wrote-workspace',
      `echo x > ${outside} 2>/dev/null && echo WROTE-OUTSIDE || echo outside-refused`,
      'echo x > /etc/titan-sandbox-probe 2>/dev/null && echo WROTE-ETC || echo etc-refused',
      `test -e ${hostTmp} && echo SAW-HOST-TMP || echo tmp-private`,
      'echo y > /tmp/scratch && echo tmp-writable',
      `echo z > ${viaTmp} 2>/dev/null; echo tried-tmp`,
    ].join('; ');
    const result = await cluster.cli(['run', '--wait', '--', 'sh', '-c', script]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /wrote-workspace/);
    assert.match(result.stdout, /outside-refused/);
    assert.match(result.stdout, /etc-refused/);
    assert.match(result.stdout, /tmp-private/);
    assert.match(result.stdout, /tmp-writable/);
    assert.equal(existsSync(outside), false);
    assert.equal(existsSync('/etc/titan-sandbox-probe'), false);
    // What it wrote under /tmp went to its private /tmp, never to the host's.
    assert.equal(existsSync(viaTmp), false);
  });

  test("a sandboxed job sees only its own processes, not the host's", async (t) => {
    if (sandbox.bwrap === null) {
      t.skip(`sandbox driver unavailable here: ${sandbox.why}`);
      return;
    }
    // A host process the job must not see.
    const marker = spawn('sleep', ['127.5'], { stdio: 'ignore' });
    t.after(() => marker.kill('SIGKILL'));
    const result = await cluster.cli(['run', '--wait', '--', 'sh', '-c', 'ls /proc | grep -c "^[0-9]"; cat /proc/*/cmdline 2>/dev/null | tr "\\0" " "; echo']);
    assert.equal(result.code, 0, result.stderr);
    const count = Number(result.stdout.split('\n')[0]);
    assert.ok(count > 0 && count < 10, `the job saw ${count} processes:\n${result.stdout}`);
    assert.doesNotMatch(result.stdout, /sleep 127\.5/);
    assert.doesNotMatch(result.stdout, /main\.js worker/);
  });

  test('the whole tree dies with a sandboxed job, even a process that left its session', async (t) => {
    if (sandbox.bwrap === null) {
      t.skip(`sandbox driver unavailable here: ${sandbox.why}`);
      return;
    }
    const result = await cluster.cli(['run', '--wait', '--', 'sh', '-c', 'setsid sleep 131.7 > /dev/null 2>&1 < /dev/null & echo started']);
    assert.equal(result.code, 0, result.stderr);
    const deadline = Date.now() + 5000;
    let left = 1;
    while (Date.now() < deadline && (left = countSleepers()) > 0) await new Promise((r) => setTimeout(r, 50));
    assert.equal(left, 0, 'the detached sleep outlived its sandboxed job');
  });

  test('network: none leaves the job without a way to reach the master', async (t) => {
    if (sandbox.bwrap === null) {
      t.skip(`sandbox driver unavailable here: ${sandbox.why}`);
      return;
    }
    const probe = `node -e "require('net').connect(${cluster.port}, '127.0.0.1').on('connect', () => { console.log('CONNECTED'); process.exit(0); }).on('error', (e) => { console.log('no-network', e.code); process.exit(0); })"`;
    const closed = await cluster.cli(['run', '--wait', '--network', 'none', '--', 'sh', '-c', probe]);
    assert.equal(closed.code, 0, closed.stderr);
    assert.match(closed.stdout, /no-network/);
    const open = await cluster.cli(['run', '--wait', '--', 'sh', '-c', probe]);
    assert.match(open.stdout, /CONNECTED/);
  });

  test('a job asks for the sandbox on a process worker that allows it (--allow-drivers sandbox)', async (t) => {
    if (sandbox.bwrap === null) {
      t.skip(`sandbox driver unavailable here: ${sandbox.why}`);
      return;
    }
    const boxed = await cluster.cli(['run', '--wait', '--requirement', 'PLAIN', '--driver', 'sandbox', '--', 'sh', '-c', 'ls /proc | grep -c "^[0-9]"']);
    assert.equal(boxed.code, 0, boxed.stderr);
    const plain = await cluster.cli(['run', '--wait', '--requirement', 'PLAIN', '--', 'sh', '-c', 'ls /proc | grep -c "^[0-9]"']);
    assert.equal(plain.code, 0, plain.stderr);
    const inBox = Number(/^(\d+)$/m.exec(boxed.stdout)?.[1]);
    const onHost = Number(/^(\d+)$/m.exec(plain.stdout)?.[1]);
    assert.ok(inBox < 10 && onHost > inBox, `sandboxed saw ${inBox}, unsandboxed ${onHost}`);
  });
});

function countSleepers(): number {
  return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.startsWith('sleep 131.7')).length;
}
