import { readdir } from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';

/**
 * A project bundle, the gzipped tar `project: true` uploads: packed by clients here, unpacked
 * with its checks by the worker (worker/workspace.ts `extractBundle`).
 */

/** Folders a bundle of a project leaves out: reinstalled or irrelevant where the job runs. */
const EXCLUDED = new Set(['node_modules', '.git']);

/** Packs `folder` into a gzipped tar at `out`, leaving out node_modules and .git at any depth. */
export async function createBundle(folder: string, out: string): Promise<void> {
  const root = path.resolve(folder);
  const outAbs = path.resolve(out);
  const top = (await readdir(root)).filter((name) => !EXCLUDED.has(name) && path.join(root, name) !== outAbs).sort();
  await tar.c(
    {
      gzip: true,
      file: outAbs,
      cwd: root,
      portable: true,
      filter: (p) => !p.split(/[\\/]/).some((seg) => EXCLUDED.has(seg)) && path.resolve(root, p) !== outAbs,
    },
    top,
  );
}
