// Runs every compiled test file with node's test runner. Unit tests sit beside their source
// (src/**/x.test.ts) and cross-part tests in test/; both compile into dist/.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensureChromium } from './ensure-chromium.mjs';

// The sandbox driver's tests need bubblewrap; installed here from the distribution when missing.
spawnSync(process.execPath, [join(import.meta.dirname, 'ensure-system-deps.mjs')], { stdio: 'inherit' });

const only = process.argv.slice(2);
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.test.js')) files.push(path);
  }
}
walk('dist/src');
walk('dist/test');
const chosen = only.length > 0 ? files.filter((f) => only.some((o) => f.includes(o))) : files;
chosen.sort();
// The dashboard's browser tests drive Debian's chromium; install it first when it is missing.
if (chosen.some((f) => f.includes('browser') || f.includes('chromium'))) {
  const chromium = ensureChromium();
  if (chromium !== undefined) process.env.CHROMIUM_PATH = chromium;
}
const concurrency = process.env.CI ? '1' : '2';
const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...chosen], { stdio: 'inherit' });
process.exit(result.status ?? 1);
