// Makes sure a Chromium for the browser tests is on this machine: Debian's `chromium`, installed
// with apt-get when it is missing. A machine that already has one never needs apt; a machine with
// neither gets a message naming the fix (the browser tests then fail, they are not skipped).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);

export function findChromium() {
  return CANDIDATES.find((path) => existsSync(path));
}

export function ensureChromium() {
  const found = findChromium();
  if (found !== undefined) return found;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!hasApt) {
    console.error('chromium is missing and apt-get is not available: install Chromium and set CHROMIUM_PATH to run the browser tests');
    return undefined;
  }
  console.error("chromium is missing: installing Debian's chromium with apt-get (once per machine)");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const install = update.status === 0 ? spawnSync('apt-get', ['install', '-y', 'chromium'], { stdio: ['ignore', 'ignore', 'inherit'], env }) : update;
  if (install.status !== 0) console.error(`apt-get could not install chromium (exit ${install.status}); the browser tests will fail`);
  return findChromium();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = ensureChromium();
  if (path === undefined) process.exit(1);
  console.log(path);
}
