import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { TitanError } from '../common/errors.js';
import { createBundle } from '../protocol/bundle.js';
import { extractBundle, jobDir, sharedDir } from './workspace.js';

let dir = '';
let seq = 0;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'titan-workspace-'));
});
after(() => rm(dir, { recursive: true, force: true }));

interface RawEntry {
  readonly path: string;
  readonly type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'FIFO';
  readonly linkpath?: string;
  readonly body?: string;
}

/** Writes a gzipped tar exactly as given: no path cleaning, so it can be as hostile as a test needs. */
async function rawTar(entries: readonly RawEntry[]): Promise<string> {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const header = new Header({
      path: e.path,
      type: e.type ?? 'File',
      size: body.length,
      mode: e.type === 'Directory' ? 0o755 : 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...(e.linkpath === undefined ? {} : { linkpath: e.linkpath }),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  const file = path.join(dir, `raw-${++seq}.tar.gz`);
  await writeFile(file, gzipSync(Buffer.concat(blocks)));
  return file;
}

async function refused(entries: readonly RawEntry[], naming: string | RegExp, limits = {}): Promise<string> {
  const dest = path.join(dir, `dest-${++seq}`, 'ws');
  await assert.rejects(extractBundle(await rawTar(entries), dest, limits), (err: unknown) => {
    assert.ok(err instanceof TitanError, String(err));
    assert.equal(err.code, 'E_UNSAFE_PATH');
    if (typeof naming === 'string') assert.ok(err.message.includes(naming), err.message);
    else assert.match(err.message, naming);
    return true;
  });
  return dest;
}

test('job and shared folders sit under the work dir, named by their id', () => {
  assert.equal(jobDir('/w', 'job-1.a_b'), path.join('/w', 'jobs', 'job-1.a_b'));
  assert.equal(sharedDir('/w', 'dag-7'), path.join('/w', 'shared', 'dag-7'));
});

test('ids that could leave their folder are refused', () => {
  for (const id of ['..', '.', '../x', 'a/b', 'a..b', '', 'a b', 'x\0']) {
    assert.throws(
      () => jobDir('/w', id),
      (err: unknown) => err instanceof TitanError && err.code === 'E_UNSAFE_PATH',
      id,
    );
  }
  assert.throws(() => sharedDir('/w', '../etc'), /DAG id "..\/etc"/);
});

test('a project folder round-trips through a bundle without node_modules and .git', async () => {
  const src = path.join(dir, 'project');
  await mkdir(path.join(src, 'scripts', 'node_modules', 'dep'), { recursive: true });
  await mkdir(path.join(src, 'node_modules', 'x'), { recursive: true });
  await mkdir(path.join(src, '.git'), { recursive: true });
  await writeFile(path.join(src, 'scripts', 'run.sh'), 'echo hi\n');
  await writeFile(path.join(src, 'scripts', 'node_modules', 'dep', 'i.js'), '');
  await writeFile(path.join(src, 'node_modules', 'x', 'i.js'), '');
  await writeFile(path.join(src, '.git', 'HEAD'), 'ref');
  await writeFile(path.join(src, 'pipeline.yaml'), 'name: x\n');
  await symlink('scripts/run.sh', path.join(src, 'run'));
  const out = path.join(src, 'bundle.tgz'); // inside the folder: must not pack itself
  await createBundle(src, out);
  const dest = path.join(dir, 'unpacked');
  await extractBundle(out, dest);
  assert.deepEqual((await readdir(dest)).sort(), ['pipeline.yaml', 'run', 'scripts']);
  assert.deepEqual(await readdir(path.join(dest, 'scripts')), ['run.sh']);
  assert.equal(await readFile(path.join(dest, 'run'), 'utf8'), 'echo hi\n');
  assert.equal(await readlink(path.join(dest, 'run')), 'scripts/run.sh');
});

test('an entry climbing out with ".." is refused and nothing is written', async () => {
  const dest = await refused(
    [
      { path: 'ok.txt', body: 'fine' },
      { path: '../evil', body: 'pwned' },
    ],
    '"../evil"',
  );
  await assert.rejects(readFile(path.join(dest, '..', 'evil')), { code: 'ENOENT' });
  await assert.rejects(readdir(dest), { code: 'ENOENT' });
  await refused([{ path: 'a/../../evil', body: 'x' }], 'a/../../evil');
});

test('an entry with an absolute path is refused', async () => {
  await refused([{ path: path.join(dir, 'abs-evil'), body: 'x' }], 'absolute paths');
  await assert.rejects(readFile(path.join(dir, 'abs-evil')), { code: 'ENOENT' });
});

test('links pointing outside the bundle are refused, also when they escape through another link', async () => {
  await refused([{ path: 'up', type: 'SymbolicLink', linkpath: '../../etc' }], '"up"');
  await refused([{ path: 'abs', type: 'SymbolicLink', linkpath: '/etc/passwd' }], 'absolute path "/etc/passwd"');
  await refused([{ path: 'hard', type: 'Link', linkpath: '../outside' }], '"hard"');
  await refused(
    [
      { path: 'b', type: 'SymbolicLink', linkpath: '.' },
      { path: 'a', type: 'SymbolicLink', linkpath: 'b/..' },
    ],
    'entry "a"',
  );
  await refused(
    [
      { path: 'out', type: 'SymbolicLink', linkpath: 'sub/..' },
      { path: 'sub', type: 'SymbolicLink', linkpath: '..' },
    ],
    /entry "(out|sub)"/,
  );
});

test('links that stay inside the bundle are extracted', async () => {
  const dest = path.join(dir, 'links-ok');
  const archive = await rawTar([
    { path: 'data/', type: 'Directory' },
    { path: 'data/v1.csv', body: 'a,b\n' },
    { path: 'sub/', type: 'Directory' },
    { path: 'sub/latest.csv', type: 'SymbolicLink', linkpath: '../data/v1.csv' },
    { path: 'copy.csv', type: 'Link', linkpath: 'data/v1.csv' },
  ]);
  await extractBundle(archive, dest);
  assert.equal(await readFile(path.join(dest, 'sub', 'latest.csv'), 'utf8'), 'a,b\n');
  assert.equal(await readFile(path.join(dest, 'copy.csv'), 'utf8'), 'a,b\n');
});

test('a file written through a link in the bundle is refused, even when the link stays inside', async () => {
  await refused(
    [
      { path: 'real/', type: 'Directory' },
      { path: 'alias', type: 'SymbolicLink', linkpath: 'real' },
      { path: 'alias/x.txt', body: 'x' },
    ],
    'symbolic link',
  );
});

test('special files and archives over the size or entry limits are refused', async () => {
  await refused([{ path: 'pipe', type: 'FIFO' }], 'FIFO entries are not allowed');
  await refused([{ path: 'big', body: 'x'.repeat(100) }], 'more than 10 bytes', { maxBytes: 10 });
  await refused([{ path: 'a' }, { path: 'b' }, { path: 'c' }], 'more than 2 entries', { maxEntries: 2 });
});

test('a file that is not a tar archive is refused with an error naming it', async () => {
  const file = path.join(dir, 'not-a-tar.tgz');
  await writeFile(file, gzipSync(Buffer.from('hello, this is not tar'.repeat(50))));
  await assert.rejects(extractBundle(file, path.join(dir, 'nt')), (err: unknown) => err instanceof TitanError && err.message.includes(file));
});

test('a tar bomb is refused by its inflation ratio before anything is written', async () => {
  const zeros = '\0'.repeat(4 * 1024 * 1024);
  const dest = await refused([{ path: 'zeros.bin', body: zeros }], /inflates more than 50 times its \d+ bytes \(a compression bomb\?\)/, {
    maxRatio: 50,
    ratioFloorBytes: 1024 * 1024,
  });
  await assert.rejects(readdir(dest), 'nothing was unpacked');
  // Even under the default caps (ratio checked past 64 MiB), tar's own 1000:1 guard refuses it.
  await refused([{ path: 'zeros.bin', body: zeros }], /inflates too much for its size .*compression bomb/);
  // Ordinary data of the same size is unpacked.
  const text = randomBytes(2 * 1024 * 1024).toString('hex');
  const ok = path.join(dir, `dest-${++seq}`);
  await extractBundle(await rawTar([{ path: 'data.txt', body: text }]), ok, { maxRatio: 50, ratioFloorBytes: 1024 * 1024 });
  assert.equal((await readFile(path.join(ok, 'data.txt'), 'utf8')).length, text.length);
});

test('a gzip of endless zero blocks is stopped by what it inflates to, though it declares no files', async () => {
  const file = path.join(dir, `zero-blocks-${++seq}.tar.gz`);
  await writeFile(file, gzipSync(Buffer.alloc(8 * 1024 * 1024)));
  await assert.rejects(extractBundle(file, path.join(dir, `dest-${++seq}`), { maxBytes: 1024 * 1024, maxEntries: 10 }), /inflates to more than \d+ bytes/);
});
