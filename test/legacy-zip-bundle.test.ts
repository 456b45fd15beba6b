import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TitanError } from '../src/common/errors.js';
import { extractBundle } from '../src/worker/workspace.js';
import { makeZip } from '../src/master/legacy/zip-fixture.js';
import { zipToBundle } from '../src/master/legacy/zip-bundle.js';

test('a zip becomes a bundle the worker unpacks to the same files and modes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'titan-zip-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const zip = makeZip({ 'main.py': 'import lib\n', 'lib/__init__.py': '', 'run.sh': 'echo hi\n' });
  const { bundle, entries } = zipToBundle(zip, 'project.zip');
  assert.deepEqual(
    entries.map((e) => e.name),
    ['main.py', 'lib/__init__.py', 'run.sh'],
  );
  writeFileSync(join(dir, 'bundle.tgz'), bundle);
  await extractBundle(join(dir, 'bundle.tgz'), join(dir, 'out'));
  assert.equal(readFileSync(join(dir, 'out', 'main.py'), 'utf8'), 'import lib\n');
  assert.equal(readFileSync(join(dir, 'out', 'lib', '__init__.py'), 'utf8'), '');
  assert.equal(statSync(join(dir, 'out', 'run.sh')).mode & 0o111, 0o111, 'executable bits survive');
});

test('a file that is not a zip, or a zip reaching outside its folder, is refused naming the archive', () => {
  const refused = (zip: Buffer, pattern: RegExp): void =>
    assert.throws(
      () => zipToBundle(zip, 'p.zip'),
      (err: unknown) => err instanceof TitanError && pattern.test(err.message),
    );
  refused(Buffer.from('just text, no zip'), /archive p\.zip cannot be used: it is not a zip file/);
  refused(makeZip({ '../evil.py': 'x' }), /entry "\.\.\/evil\.py": "\.\." in a path is not allowed/);
  refused(makeZip({ '/etc/passwd': 'x' }), /absolute or Windows-style paths are not allowed/);
  const damaged = makeZip({ 'a.py': 'print(1)\n' });
  const at = 30 + 'a.py'.length;
  damaged.writeUInt8(damaged.readUInt8(at) ^ 0xff, at);
  refused(damaged, /entry "a\.py" (is damaged|does not inflate)/);
});

test('a zip bomb is refused by its unpacked size and ratio before anything is inflated', () => {
  const bomb = makeZip({ 'a.bin': Buffer.alloc(3 * 1024 * 1024), 'b.bin': Buffer.alloc(3 * 1024 * 1024) });
  assert.throws(
    () => zipToBundle(bomb, 'bomb.zip', { maxRatio: 20, ratioFloorBytes: 1024 * 1024 }),
    /archive bomb\.zip cannot be used: it unpacks to more than 20 times its \d+ bytes \(a zip bomb\?\)/,
  );
  assert.throws(() => zipToBundle(bomb, 'bomb.zip', { maxTotalBytes: 4 * 1024 * 1024 }), /its files add up to more than 4194304 bytes/);
  assert.equal(zipToBundle(bomb, 'bomb.zip').entries.length, 2, 'under the default caps 6 MiB of zeros is fine');
});

test('a zip whose entry inflates past its declared size is refused, not inflated without end', () => {
  const zip = makeZip({ 'small.txt': Buffer.alloc(64 * 1024) });
  const central = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  zip.writeUInt32LE(10, central + 24); // the central directory now claims 10 bytes
  assert.throws(() => zipToBundle(zip, 'liar.zip'), /entry "small\.txt" (is damaged|does not inflate)/);
});
