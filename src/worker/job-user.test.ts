import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freshWorkspace } from './job-user.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'titan-fresh-workspace-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('a workspace that does not exist yet is made, empty', async () => {
  const workspace = path.join(dir, 'jobs', 'new-job');
  await mkdir(path.dirname(workspace), { recursive: true });
  await freshWorkspace(workspace);
  assert.deepEqual(await readdir(workspace), []);
});

test('a workspace whose parent folder is missing is made with it', async () => {
  const workspace = path.join(dir, 'no-parent-yet', 'job');
  await freshWorkspace(workspace);
  assert.deepEqual(await readdir(workspace), []);
});

test("a previous attempt's workspace is emptied without following the links it left", async () => {
  const outside = path.join(dir, 'worker-secret');
  await writeFile(outside, 'keep me');
  const workspace = path.join(dir, 'jobs', 'rerun');
  await mkdir(path.join(workspace, 'sub'), { recursive: true });
  await writeFile(path.join(workspace, 'stdout.log'), 'old output');
  await symlink(outside, path.join(workspace, 'sub', 'link'));
  await freshWorkspace(workspace);
  assert.deepEqual(await readdir(workspace), []);
  assert.equal(await readFile(outside, 'utf8'), 'keep me');
});
