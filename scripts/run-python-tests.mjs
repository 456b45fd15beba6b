// Runs the Python SDK's tests (sdk-python/tests, stdlib unittest) against the built master in dist/.
// Each test module starts its own master and worker processes and stops them; this runner only
// bounds the whole run: past the deadline it stops the test process group (SIGTERM, then SIGKILL).
/* global setTimeout, clearTimeout */
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const deadlineMs = Number(process.env.TITAN_PYTHON_TESTS_TIMEOUT_MS ?? 10 * 60 * 1000);
const python = process.env.PYTHON ?? 'python3';

if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) {
  console.error('run-python-tests: dist/src/cli/main.js is missing; build first (npm run build)');
  process.exit(1);
}

const args = ['-m', 'unittest', 'discover', '-s', 'sdk-python/tests', '-v'];
const child = spawn(python, args, {
  cwd: root,
  detached: true, // its own process group, so a timeout can stop the clusters it started too
  stdio: ['ignore', 'inherit', 'pipe'],
  env: { ...process.env, TITAN_TEST_NODE: process.execPath, PYTHONDONTWRITEBYTECODE: '1' },
});

let tail = '';
child.stderr.on('data', (chunk) => {
  process.stderr.write(chunk);
  tail = (tail + chunk.toString()).slice(-4000);
});

function stopGroup(signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

let timedOut = false;
let killer;
const timer = setTimeout(() => {
  timedOut = true;
  console.error(`run-python-tests: no result after ${deadlineMs} ms; stopping the tests`);
  stopGroup('SIGTERM');
  killer = setTimeout(() => stopGroup('SIGKILL'), 10_000);
}, deadlineMs);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopGroup(signal);
    killer ??= setTimeout(() => stopGroup('SIGKILL'), 10_000);
  });
}

child.on('error', (err) => {
  clearTimeout(timer);
  console.error(`run-python-tests: cannot run ${python}: ${err.message}`);
  process.exit(1);
});

child.on('exit', (code, signal) => {
  clearTimeout(timer);
  if (killer !== undefined) clearTimeout(killer);
  const ran = /Ran (\d+) tests? in ([\d.]+s)/.exec(tail);
  const verdict = /\n(OK(?: \([^)]*\))?|FAILED \([^)]*\))\s*$/.exec(tail);
  const summary = ran ? `${ran[1]} tests in ${ran[2]}, ${verdict ? verdict[1] : 'no verdict'}` : 'no unittest summary';
  const status = timedOut ? 'timed out' : signal !== null ? `killed by ${signal}` : `exit code ${code}`;
  console.log(`\npython SDK tests: ${summary} (${status})`);
  process.exit(timedOut ? 1 : (code ?? 1));
});
