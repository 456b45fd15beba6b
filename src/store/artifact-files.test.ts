import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { runArtifactBytesConformance } from './artifact-bytes-conformance.js';
import { ArtifactFiles } from './artifact-files.js';

const HOUR_AGO = (): Date => new Date(Date.now() - 3_600_000);

function folderIn(t: TestContext): { files: ArtifactFiles; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'titan-artifacts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { files: new ArtifactFiles(dir), dir };
}

runArtifactBytesConformance('files', async (t) => {
  const { files, dir } = folderIn(t);
  return { bytes: files, age: async (hash, at) => utimesSync(join(dir, hash), at, at) };
});

void describe('artifact files', () => {
  void test('an old temp file from an interrupted upload is deleted; other names are never touched', async (t) => {
    const { files, dir } = folderIn(t);
    const temp = `${'a'.repeat(64)}.0123abcd.tmp`;
    for (const name of [temp, 'notes.txt']) {
      writeFileSync(join(dir, name), 'x');
      utimesSync(join(dir, name), HOUR_AGO(), HOUR_AGO());
    }
    assert.deepEqual((await files.entries()).sort(), [temp, 'notes.txt'].sort());
    assert.equal(await files.collect(temp, Date.now(), () => Promise.resolve(true)), 1);
    assert.equal(await files.collect('notes.txt', Date.now(), () => Promise.resolve(false)), null);
    assert.equal(existsSync(join(dir, 'notes.txt')), true);
    assert.equal(await files.collect('f'.repeat(64), Date.now(), () => Promise.resolve(false)), null, 'a file already gone');
  });
});
