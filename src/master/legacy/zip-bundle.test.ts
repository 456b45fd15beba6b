import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TitanError } from '../../common/errors.js';
import { extractBundle } from '../../worker/workspace.js';
import { makeZip } from './zip-fixture.js';
import { zipToBundle } from './zip-bundle.js';

test('a zip becomes a bundle the worker unpacks to the same files and modes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'titan-zip-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const zip = makeZip({ 'main.py': 'import lib\n', 'lib/__init__.py': '', 'run.sh': 'echo hi\n' });
  const { bundle, entries } = zipToBundle(zip, 'project.zip');
  assert.deepEqual(entries.map((e) => e.name), ['main.py', 'lib/__init__.py', 'run.sh']);
  writeFileSync(join(dir, 'bundle.tgz'), bundle);
  await extractBundle(join(dir, 'bundle.tgz'), join(dir, 'out'));
  assert.equal(readFileSync(join(dir, 'out', 'main.py'), 'utf8'), 'import lib\n');
  assert.equal(readFileSync(join(dir, 'out', 'lib', '__init__.py'), 'utf8'), '');
  assert.equal(statSync(join(dir, 'out', 'run.sh')).mode & 0o111, 0o111, 'executable bits survive');
});

test('a file that is not a zip, or a zip reaching outside its folder, is refused naming the archive', () => {
  const refused = (zip: Buffer, pattern: RegExp): void =>
    assert.throws(() => zipToBundle(zip, 'p.zip'), (err: unknown) => err instanceof TitanError && pattern.test(err.message));
  refused(Buffer.from('just text, no zip'), /archive p\.zip cannot be used: it is not a zip file/);
  refused(makeZip({ '../evil.py': 'x' }), /entry "\.\.\/evil\.py": "\.\." in a path is not allowed/);
  refused(makeZip({ '/etc/passwd': 'x' }), /absolute or Windows-style paths are not allowed/);
  const damaged = makeZip({ 'a.py': 'print(1)\n' });
  const at = 30 + 'a.py'.length;
  damaged.writeUInt8(damaged.readUInt8(at) ^ 0xff, at);
  refused(damaged, /entry "a\.py" (is damaged|does not inflate)/);
});
