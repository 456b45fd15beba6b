// Installs the system programs the tests and the bench use when they are missing: bubblewrap
// (bwrap) for the sandbox driver, and Debian's numpy for /usr/bin/python3 (the warm interpreter's
// preload test and the bench's numpy figures). Uses the distribution's packages (Debian apt-get)
// and only as root; otherwise it prints why it could not, and what needs them skips saying so.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const wanted = [
  { pkg: 'bubblewrap', present: () => has('bwrap') },
  {
    pkg: 'python3-numpy',
    present: () => !existsSync('/usr/bin/python3') || spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0,
  },
];

function has(binary) {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

const missing = wanted.filter((w) => !w.present());
if (missing.length > 0) {
  const names = missing.map((m) => m.pkg);
  if (!has('apt-get')) {
    console.error(`ensure-system-deps: ${names.join(', ')} missing and apt-get is not available; install them to run the tests that need them`);
  } else if (process.getuid?.() !== 0) {
    console.error(`ensure-system-deps: ${names.join(', ')} missing; run as root (or: sudo apt-get install ${names.join(' ')}) to run the tests that need them`);
  } else {
    console.error(`ensure-system-deps: installing ${names.join(', ')} with apt-get`);
    let install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...names], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (install.status !== 0) {
      spawnSync('apt-get', ['update'], { stdio: 'inherit' });
      install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...names], {
        stdio: 'inherit',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    }
    if (install.status !== 0) console.error(`ensure-system-deps: apt-get install ${names.join(' ')} failed; the tests that need them will skip`);
  }
}
