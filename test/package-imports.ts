import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every file under `dir` whose name passes `keep`, recursively. */
export function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(path, keep));
    else if (keep(entry.name)) found.push(path);
  }
  return found;
}

// Import forms the compiler emits, each at the start of a line so the examples in doc comments
// (` * import { TitanClient } from 'titan'`) are not taken for imports.
const STATIC_FROM = /^\s*(?:import|export)\b[^;]*?\bfrom\s*'([^']+)'/gm;
const SIDE_EFFECT = /^\s*import\s*'([^']+)'/gm;
const DYNAMIC = /\bimport\(\s*'([^']+)'\s*\)/g;
const RESOLVED = /\bimport\.meta\.resolve\(\s*'([^']+)'\s*\)/g;
// A require made with createRequire, under whatever name the file gave it (requireCjs('pkg/file.cjs')).
const REQUIRED = /\brequire\w*\(\s*'([^']+)'\s*\)/g;

/** The npm package a bare specifier names ('@scope/name/sub' → '@scope/name'), or undefined for a relative path or a Node built-in. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The npm packages the given .js/.d.ts files import, resolve or re-export, each with the first file that does. */
export function packagesImportedBy(files: readonly string[]): Map<string, string> {
  const packages = new Map<string, string>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of [STATIC_FROM, SIDE_EFFECT, DYNAMIC, RESOLVED, REQUIRED]) {
      for (const match of text.matchAll(pattern)) {
        const name = packageOf(match[1] ?? '');
        if (name !== undefined && !packages.has(name)) packages.set(name, file);
      }
    }
  }
  return packages;
}
