import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN } from './harness.js';

test('`titan up --demo` starts a master and two worker processes, runs the demo across both, and stops them all', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'titan-up-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  // The README's demo command is `npm run demo`: the same `up --workers 2 --demo`, on a free port here.
  const child = spawn(process.execPath, [MAIN, 'up', '--workers', '2', '--listen', '127.0.0.1:0', '--demo', '--exit-after-demo'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TITAN_HOME: home },
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, out);
  assert.match(out, /cluster token: \S+/);
  assert.match(out, /demo finished: every job succeeded/);
  assert.match(out, /\[pipeline\] DAG \w+ succeeded/);
  assert.match(out, /^ {4}answer: 42$/m);
  assert.match(out, /\[flaky\] job \w+ succeeded \(exit 0\) after 2 attempt/);
  const workers = new Set([...out.matchAll(/\[part-\d\] job \w+ succeeded .* on (\S+)/g)].map((m) => m[1]));
  assert.equal(workers.size, 2, `the fan-out used both workers:\n${out}`);
});
