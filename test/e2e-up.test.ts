import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN, awaitLine } from './harness.js';

test('`titan up --demo` starts a master and two worker processes, runs the demo across both, and stops them all', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'titan-up-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  chmodSync(home, 0o711); // a root worker's jobs (titan-job) pass through to their workspaces
  // The README's first command is `npm run demo`: run its own arguments, on a free port and exiting after.
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { scripts: { demo: string } };
  const demoArgs = pkg.scripts.demo.split('dist/src/cli/main.js ')[1]?.split(' ') ?? [];
  assert.deepEqual(demoArgs.slice(0, 1), ['up']);
  const child = spawn(process.execPath, [MAIN, ...demoArgs, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--exit-after-demo'], {
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

test('`titan up` hands its workers the token by environment: no command line on the host holds it; work dirs are under TITAN_HOME', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'titan-up-'));
  const elsewhere = mkdtempSync(join(tmpdir(), 'titan-up-data-'));
  t.after(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });
  chmodSync(home, 0o711); // a root worker's jobs (titan-job) pass through to their workspaces
  const child = spawn(
    process.execPath,
    [MAIN, 'up', '--workers', '2', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--data-dir', join(elsewhere, 'master')],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TITAN_HOME: home },
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const up = await awaitLine(child, /cluster token: (\S+)[\s\S]*titan is up/, 30_000, 'titan up');
  const token = up[1] ?? '';
  assert.ok(token.length >= 16, out);
  const holders: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    if (cmdline.includes(token)) holders.push(`${pid}: ${cmdline.replace(/\0/g, ' ')}`);
  }
  assert.deepEqual(holders, [], 'processes with the token on their command line');
  assert.ok(existsSync(join(home, 'workers', 'w1')) && existsSync(join(home, 'workers', 'w2')), 'work dirs under TITAN_HOME');
  assert.equal(existsSync(join(elsewhere, 'workers')), false, 'nothing beside the data dir');
  child.kill('SIGTERM');
  assert.equal(await exited, 0, out);
});

test('Ctrl-C on `titan up` stops everything with human lines, no JSON log lines', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'titan-up-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  chmodSync(home, 0o711); // a root worker's jobs (titan-job) pass through to their workspaces
  // Its own process group, as a terminal's foreground job: Ctrl-C sends SIGINT to the whole group.
  const child = spawn(process.execPath, [MAIN, 'up', '--workers', '2', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, TITAN_HOME: home },
  });
  t.after(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const up = new Promise<void>((resolve) => {
    const see = (c: Buffer): void => {
      out += c.toString();
      if (out.includes('Ctrl-C stops the master and the workers.')) resolve();
    };
    child.stdout.on('data', see);
    child.stderr.on('data', see);
  });
  await Promise.race([up, exited]);
  const before = out.length;
  process.kill(-(child.pid as number), 'SIGINT');
  const code = await exited;
  const afterCtrlC = out.slice(before);
  assert.equal(code, 0, out);
  assert.match(afterCtrlC, /^stopping 2 worker\(s\) and the master…$/m);
  assert.match(afterCtrlC, /^stopped\.$/m);
  assert.doesNotMatch(afterCtrlC, /^\{/m, 'no JSON log lines');
});
