/** Where a job's files live on a worker, and safe packing/unpacking of folder bundles. */
import { createReadStream } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import path from 'node:path';
import * as tar from 'tar';
import { ErrorCode, TitanError } from '../common/errors.js';

const SAFE_ID = /^[A-Za-z0-9._-]+$/;

export interface BundleLimits {
  /** Total bytes of file contents. Default 1 GiB. */
  readonly maxBytes?: number;
  /** Default 100 000. */
  readonly maxEntries?: number;
  /** Most bytes unpacked per byte of archive, once past `ratioFloorBytes` (a compression bomb). Default 200. */
  readonly maxRatio?: number;
  /** Below this many unpacked bytes the ratio is not checked (small, very compressible files are fine). Default 64 MiB. */
  readonly ratioFloorBytes?: number;
}

const DEFAULT_MAX_BYTES = 1024 ** 3;
const DEFAULT_MAX_ENTRIES = 100_000;
const DEFAULT_MAX_RATIO = 200;
const DEFAULT_RATIO_FLOOR = 64 * 1024 * 1024;
/** Tar headers and padding on top of the file bytes: one 512-byte header and up to 511 bytes of padding per entry. */
const TAR_OVERHEAD_PER_ENTRY = 1024;
const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/** `<workDir>/jobs/<jobId>`: the job's workspace and working directory. */
export function jobDir(workDir: string, jobId: string): string {
  return path.join(workDir, 'jobs', checkId(jobId, 'job id'));
}

/** `<workDir>/shared/<dagId>`: the data bus shared by the jobs of one DAG run on this worker. */
export function sharedDir(workDir: string, dagId: string): string {
  return path.join(workDir, 'shared', checkId(dagId, 'DAG id'));
}

function checkId(id: string, what: string): string {
  if (!SAFE_ID.test(id) || id === '.' || id.includes('..')) {
    throw new TitanError(ErrorCode.UNSAFE_PATH, `${what} "${id}" cannot name a folder: use only letters, digits, ".", "_" and "-", and not "." or ".."`);
  }
  return id;
}

/**
 * Unpacks a (gzipped) tar into `dest`. The whole archive is checked before anything is written:
 * absolute paths, `..` segments, links resolving outside `dest` (also through other links in the
 * archive), device and other special entries, and archives over the size or entry limits are
 * refused with E_UNSAFE_PATH naming the entry.
 */
export async function extractBundle(archivePath: string, dest: string, limits: BundleLimits = {}): Promise<void> {
  await checkArchive(archivePath, limits);
  await mkdir(dest, { recursive: true });
  try {
    await tar.x({
      file: archivePath,
      cwd: dest,
      strict: true,
      preserveOwner: false,
      // Checked above; refusing anything tar itself would rewrite keeps the two passes in agreement.
      filter: (p, entry) => 'type' in entry && entryProblem(p, entry.type) === null,
    });
  } catch (err) {
    const e = err as { code?: string; path?: string };
    if (e.code === 'TAR_SYMLINK_ERROR') {
      throw unsafe(archivePath, e.path ?? '', `it would be written through a symbolic link (${String(err)})`);
    }
    // tar's own guard (1000:1 on the whole stream) also refuses bombs below our ratio floor.
    if (e.code === 'TAR_ABORT' && /decompression ratio/.test(String(err))) {
      throw unsafe(archivePath, '', `it inflates too much for its size (${(err as Error).message}; a compression bomb?)`);
    }
    throw err;
  }
}

interface SeenEntry {
  readonly path: string;
  readonly type: string;
  readonly linkpath: string | undefined;
}

async function checkArchive(archivePath: string, limits: BundleLimits): Promise<void> {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxEntries = limits.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const entries: SeenEntry[] = [];
  let bytes = 0;
  let problem: TitanError | undefined;
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      entry.resume();
      if (problem !== undefined) return;
      bytes += entry.size;
      let why = entryProblem(entry.path, entry.type);
      if (why === null && entries.length >= maxEntries) why = `the archive has more than ${maxEntries} entries`;
      if (why === null && bytes > maxBytes) why = `its files add up to more than ${maxBytes} bytes`;
      if (why !== null) {
        problem = unsafe(archivePath, entry.path, why);
        parser.abort(problem);
        return;
      }
      entries.push({ path: entry.path, type: entry.type, linkpath: entry.linkpath });
    },
  });
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on('error', reject);
    parser.on('end', resolve);
  });
  parsed.catch(() => undefined); // awaited below; an abort mid-read must not count as unhandled
  // Inflate here, counting, rather than inside the parser: a gzip bomb is stopped by what it
  // inflates to, even when its tar headers declare nothing (a stream of zero blocks).
  const archiveBytes = (await stat(archivePath)).size;
  const maxInflated = maxBytes + (maxEntries + 2) * TAR_OVERHEAD_PER_ENTRY;
  const maxRatio = limits.maxRatio ?? DEFAULT_MAX_RATIO;
  const ratioFloor = limits.ratioFloorBytes ?? DEFAULT_RATIO_FLOOR;
  const raw = createReadStream(archivePath);
  const input = (await isGzip(archivePath)) ? raw.pipe(createGunzip()) : raw;
  let inflated = 0;
  try {
    for await (const chunk of input) {
      if (problem !== undefined) break;
      inflated += (chunk as Buffer).length;
      if (inflated > maxInflated) problem = unsafe(archivePath, '', `it inflates to more than ${maxInflated} bytes (the limit is ${maxBytes} bytes of files)`);
      else if (inflated > ratioFloor && inflated > archiveBytes * maxRatio) {
        problem = unsafe(archivePath, '', `it inflates more than ${maxRatio} times its ${archiveBytes} bytes (a compression bomb?)`);
      }
      if (problem !== undefined) {
        parser.abort(problem);
        break;
      }
      if (!parser.write(chunk as Buffer)) await new Promise((resolve) => parser.once('drain', resolve));
    }
    if (problem === undefined) parser.end();
    await parsed;
  } catch (err) {
    if (problem !== undefined) throw problem;
    throw err instanceof TitanError ? err : unsafe(archivePath, '', `it is not a readable tar archive (${String(err)})`);
  } finally {
    input.destroy();
    raw.destroy();
  }
  if (problem !== undefined) throw problem;
  checkLinks(archivePath, entries);
}

async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const magic = Buffer.alloc(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    return bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

function unsafe(archivePath: string, entryPath: string, why: string): TitanError {
  const where = entryPath === '' ? '' : ` entry "${entryPath}":`;
  return new TitanError(ErrorCode.UNSAFE_PATH, `bundle ${archivePath}:${where} refused, ${why}`);
}

function entryProblem(entryPath: string, type: string): string | null {
  if (!ALLOWED_TYPES.has(type)) return `${type} entries are not allowed (only files, folders and links)`;
  if (entryPath.startsWith('/') || entryPath.startsWith('\\') || /^[A-Za-z]:/.test(entryPath)) {
    return 'absolute paths are not allowed';
  }
  if (segments(entryPath).includes('..')) return '".." in a path is not allowed';
  return null;
}

function segments(p: string): string[] {
  return p.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
}

/**
 * Resolves every entry's path and link target the way the filesystem will once the archive is
 * unpacked, following the archive's own symlinks, and refuses any that would land outside dest.
 * A lexical check alone is not enough: with `b -> .`, the target `b/..` looks inside but is not.
 */
function checkLinks(archivePath: string, entries: readonly SeenEntry[]): void {
  const symlinks = new Map<string, string>();
  for (const e of entries) {
    if (e.type === 'SymbolicLink') symlinks.set(segments(e.path).join('/'), e.linkpath ?? '');
  }
  for (const e of entries) {
    const own = segments(e.path);
    // The entry's parent folders must stay inside; the entry itself is replaced, not followed.
    if (resolveInside(own.slice(0, -1), symlinks) === null) {
      throw unsafe(archivePath, e.path, 'its folder is reached through a link that points outside the bundle');
    }
    if (e.type !== 'SymbolicLink' && e.type !== 'Link') continue;
    const target = e.linkpath ?? '';
    if (target.startsWith('/') || /^[A-Za-z]:/.test(target)) {
      throw unsafe(archivePath, e.path, `it links to the absolute path "${target}"`);
    }
    // A symlink's target is relative to its folder; a hard link's to the archive root.
    const from = e.type === 'SymbolicLink' ? own.slice(0, -1) : [];
    if (resolveInside([...from, ...target.split(/[\\/]+/)], symlinks) === null) {
      throw unsafe(archivePath, e.path, `it links to "${target}", outside the bundle`);
    }
  }
}

/** Walks `parts` from the bundle root following archive symlinks; null when it leaves the root. */
function resolveInside(parts: readonly string[], symlinks: ReadonlyMap<string, string>): string[] | null {
  const stack: string[] = [];
  const queue = [...parts];
  let hops = 0;
  while (queue.length > 0) {
    const part = queue.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return null;
      stack.pop();
      continue;
    }
    stack.push(part);
    const link = symlinks.get(stack.join('/'));
    if (link === undefined) continue;
    if (++hops > 40 || link.startsWith('/')) return null; // a loop, or absolute (refused anyway)
    stack.pop();
    queue.unshift(...link.split(/[\\/]+/));
  }
  return stack;
}
