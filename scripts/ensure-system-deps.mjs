// Installs the system programs the tests use when they are missing: bubblewrap (bwrap) for the
// sandbox driver. Uses the distribution's packages (Debian apt-get) and only as root; otherwise
// it prints why it could not, and the tests that need the program skip saying so.
import { spawnSync } from 'node:child_process';

const wanted = [{ binary: 'bwrap', pkg: 'bubblewrap' }];

function has(binary) {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

const missing = wanted.filter((w) => !has(w.binary));
if (missing.length > 0) {
  const names = missing.map((m) => m.pkg);
  if (!has('apt-get')) {
    console.error(`ensure-system-deps: ${names.join(', ')} missing and apt-get is not available; install them to run the sandbox tests`);
  } else if (process.getuid?.() !== 0) {
    console.error(`ensure-system-deps: ${names.join(', ')} missing; run as root (or: sudo apt-get install ${names.join(' ')}) to run the sandbox tests`);
  } else {
    console.error(`ensure-system-deps: installing ${names.join(', ')} with apt-get`);
    let install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...names], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (install.status !== 0) {
      spawnSync('apt-get', ['update'], { stdio: 'inherit' });
      install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...names], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    }
    if (install.status !== 0) console.error(`ensure-system-deps: apt-get install ${names.join(' ')} failed; the sandbox tests will skip`);
  }
}
