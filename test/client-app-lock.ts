import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface LockEntry {
  readonly version?: string;
  readonly integrity?: string;
  readonly dependencies?: Record<string, string>;
}
type LockPackages = Record<string, LockEntry>;

const WORKSPACE = 'packages/client';
const INSTALLED_AS = 'node_modules/titan-client';

/** Where Node finds `name` from the package at lock path `from`: its own node_modules, then each enclosing one. */
function locate(lock: LockPackages, from: string, name: string): string {
  let base = from;
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (lock[candidate] !== undefined) return candidate;
    if (base === '') throw new Error(`package-lock.json does not hold ${name}, needed by ${from}: run npm install`);
    const cut = base.lastIndexOf('/node_modules/');
    base = cut >= 0 ? base.slice(0, cut) : '';
  }
}

/**
 * Writes an application folder's package.json and package-lock.json that install the packed client
 * at exactly the versions the repo's own install resolved: npm then reads each tarball from its
 * cache by integrity and needs no registry (it would need one to resolve version ranges).
 */
export function writeClientApp(repoRoot: string, tarball: string, appDir: string): void {
  const lock = (JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: LockPackages }).packages;
  const client = lock[WORKSPACE];
  if (client === undefined) throw new Error(`package-lock.json has no ${WORKSPACE} workspace`);
  const spec = `file:${tarball}`;
  const packages: Record<string, object> = {
    '': { name: 'client-app', dependencies: { 'titan-client': spec } },
    [INSTALLED_AS]: { version: client.version, resolved: spec, dependencies: client.dependencies ?? {} },
  };
  const appPath = (lockPath: string): string => (lockPath.startsWith(`${WORKSPACE}/`) ? INSTALLED_AS + lockPath.slice(WORKSPACE.length) : lockPath);
  const pending: [string, Record<string, string>][] = [[WORKSPACE, client.dependencies ?? {}]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [from, dependencies] = next;
    for (const name of Object.keys(dependencies)) {
      const at = locate(lock, from, name);
      const entry = lock[at] ?? {};
      if (packages[appPath(at)] !== undefined) continue;
      const file = `${name.split('/').pop() ?? name}-${entry.version ?? ''}.tgz`;
      packages[appPath(at)] = {
        version: entry.version,
        resolved: `https://registry.npmjs.org/${name}/-/${file}`,
        integrity: entry.integrity,
        dependencies: entry.dependencies ?? {},
      };
      pending.push([at, entry.dependencies ?? {}]);
    }
  }
  writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'client-app', private: true, type: 'module', dependencies: { 'titan-client': spec } }));
  writeFileSync(join(appDir, 'package-lock.json'), JSON.stringify({ name: 'client-app', lockfileVersion: 3, requires: true, packages }, null, 2));
}
