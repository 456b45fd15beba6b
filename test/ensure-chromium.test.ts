import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromiumPath } from './browser-harness.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/ensure-chromium.mjs', import.meta.url));

test('a machine that has chromium but no apt-get gets it found, with no install tried', () => {
  assert.ok(existsSync(chromiumPath()), `the test script installs chromium before the tests; none at ${chromiumPath()}`);
  const run = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8', env: { PATH: '/nonexistent', CHROMIUM_PATH: chromiumPath() } });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), chromiumPath());
  assert.equal(run.stderr, '', 'no install was attempted');
});
