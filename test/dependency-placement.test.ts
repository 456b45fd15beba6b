import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { filesUnder, packagesImportedBy } from './package-imports.js';

// The runtime as it is installed: dist/src without its unit tests (compiled beside the sources).
const runtimeDir = fileURLToPath(new URL('../src', import.meta.url));
const manifest = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as {
  dependencies: Record<string, string>;
  optionalDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const imported = packagesImportedBy(filesUnder(runtimeDir, (name) => name.endsWith('.js') && !name.endsWith('.test.js')));
const builtins = new Set(builtinModules);

test('every runtime dependency of titan is imported by its built code', () => {
  const unused = Object.keys(manifest.dependencies).filter((name) => !imported.has(name));
  assert.deepEqual(unused, [], 'listed under dependencies but imported by no file of dist/src: move them to devDependencies or drop them');
});

test('the built code imports only runtime or optional dependencies, never a development one', () => {
  const installed = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.optionalDependencies)]);
  const missing = [...imported].filter(([name]) => !installed.has(name) && !builtins.has(name)).map(([name, file]) => `${name} (${file})`);
  assert.deepEqual(missing, [], 'imported at run time but not installed by `npm install --omit=dev`');
});

test('the dashboard libraries are bundled at build time and tsx is optional, needed only by .ts job scripts', () => {
  for (const bundled of ['preact', '@dagrejs/dagre']) {
    assert.ok(bundled in manifest.devDependencies, `${bundled} is a devDependency`);
    assert.ok(!imported.has(bundled), `${bundled} is not imported by dist/src`);
  }
  assert.ok('tsx' in manifest.optionalDependencies);
  assert.match(imported.get('tsx') ?? '', /worker[/\\]interpreter\.js$/, 'only the interpreter choice resolves tsx');
});
