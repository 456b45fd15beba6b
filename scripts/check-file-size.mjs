// Fails when a source file grows past the size at which it should be split: a file with one job stays readable in one sitting.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const LIMIT = 400;
const roots = ['src', 'test', 'bench', 'web/src'];
const offenders = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.ts') || path.endsWith('.tsx')) {
      const lines = readFileSync(path, 'utf8').split('\n').length;
      if (lines > LIMIT) offenders.push(`${path}: ${lines} lines (limit ${LIMIT}); split it by responsibility`);
    }
  }
}
for (const root of roots) {
  try {
    walk(root);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
}
if (offenders.length > 0) {
  console.error(offenders.join('\n'));
  process.exit(1);
}
