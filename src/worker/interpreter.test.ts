import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TitanError } from '../common/errors.js';
import { commandFor, tsxLoader } from './interpreter.js';

const ws = '/work/jobs/j1';
const script = (fileName: string) => ({ kind: 'script' as const, fileName, artifact: 'sha256:x' });
const command = (line: string) => ({ kind: 'command' as const, command: line });

test('a Python script runs unbuffered with python3, its args after the script', () => {
  assert.deepEqual(commandFor(script('train.py'), ['--epochs', '3'], ws), {
    file: 'python3',
    argv: ['-u', path.join(ws, 'train.py'), '--epochs', '3'],
    interpreter: 'python3',
  });
});

test('a shell script runs with bash and a jar with java -jar', () => {
  assert.deepEqual(commandFor(script('run.sh'), ['a'], ws).file, 'bash');
  assert.deepEqual(commandFor(script('run.sh'), ['a'], ws).argv, [path.join(ws, 'run.sh'), 'a']);
  assert.deepEqual(commandFor(script('app.jar'), [], ws).argv, ['-jar', path.join(ws, 'app.jar')]);
  assert.equal(commandFor(script('app.jar'), [], ws).file, 'java');
});

test('JavaScript scripts of every module flavour run with this node', () => {
  for (const name of ['a.js', 'a.mjs', 'a.cjs', 'A.JS']) {
    const cmd = commandFor(script(name), ['x'], ws);
    assert.equal(cmd.file, process.execPath);
    assert.deepEqual(cmd.argv, [path.join(ws, name), 'x']);
  }
});

test('a TypeScript script runs with node importing the tsx loader by absolute file URL', () => {
  const cmd = commandFor(script('job.ts'), ['x'], ws);
  assert.equal(cmd.file, process.execPath);
  assert.deepEqual(cmd.argv, ['--import', tsxLoader(), path.join(ws, 'job.ts'), 'x']);
  assert.match(tsxLoader(), /^file:\/\/\/.*tsx/);
});

test('a script with an unknown extension runs as its own program and is marked to be made executable', () => {
  const cmd = commandFor(script('bin/tool'), ['x'], ws);
  assert.deepEqual(cmd, { file: path.join(ws, 'bin/tool'), argv: ['x'], makeExecutable: path.join(ws, 'bin/tool') });
});

test('a script named outside the workspace is refused as unsafe', () => {
  for (const name of ['../evil.py', '/etc/passwd', 'a/../../b.sh']) {
    assert.throws(
      () => commandFor(script(name), [], ws),
      (err: unknown) => err instanceof TitanError && err.code === 'E_UNSAFE_PATH',
    );
  }
  assert.doesNotThrow(() => commandFor(script('..data.py'), [], ws));
});

test('a plain command is spawned directly, without a shell, with args appended', () => {
  assert.deepEqual(commandFor(command('/bin/true'), [], ws), { file: '/bin/true', argv: [] });
  assert.deepEqual(commandFor(command('  echo  hello --n=1 a,b '), ['x y'], ws), {
    file: 'echo',
    argv: ['hello', '--n=1', 'a,b', 'x y'],
  });
});

test('a command with shell syntax runs through /bin/sh with args as its positional parameters', () => {
  assert.deepEqual(commandFor(command('echo $HOME | wc -c'), [], ws), {
    file: '/bin/sh',
    argv: ['-c', 'echo $HOME | wc -c', 'titan'],
  });
  assert.deepEqual(commandFor(command('ls "$@" *.txt'), ['a b', '$(rm)'], ws), {
    file: '/bin/sh',
    argv: ['-c', 'ls "$@" *.txt', 'titan', 'a b', '$(rm)'],
  });
});

test('builtins, variable assignments and multi-line commands go through the shell', () => {
  for (const line of ['exit 3', 'cd sub', 'FOO=1 env', 'echo a\necho b', 'echo "quoted"', "echo 'q'", 'echo ~']) {
    assert.equal(commandFor(command(line), [], ws).file, '/bin/sh', line);
  }
  assert.equal(commandFor(command('   '), [], ws).file, '/bin/sh');
});

test('without the optional tsx package a TypeScript job is refused with a message saying what to install', () => {
  // This compiled module and the one it imports, copied where no node_modules up the tree holds tsx.
  const dir = mkdtempSync(path.join(tmpdir(), 'titan-no-tsx-'));
  try {
    writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    for (const file of ['worker/interpreter.js', 'common/errors.js']) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      copyFileSync(fileURLToPath(new URL(`../${file}`, import.meta.url)), path.join(dir, file));
    }
    const probe = `import('./worker/interpreter.js')
      .then((m) => m.commandFor({ kind: 'script', fileName: 'job.ts', artifact: 'sha256:x' }, [], '/w'))
      .then(() => console.log('no error'), (err) => console.log(err.code + ' ' + err.message));`;
    const printed = execFileSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: dir, encoding: 'utf8' });
    assert.match(
      printed,
      /^E_INTERNAL cannot run TypeScript jobs: the optional tsx package is not installed next to titan .*reinstall titan with its optional dependencies/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
