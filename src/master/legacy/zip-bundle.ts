import { crc32, gzipSync, inflateRawSync } from 'node:zlib';
import { Header } from 'tar';
import { ErrorCode, TitanError } from '../../common/errors.js';

/**
 * The original SDK uploads a project folder as a zip; Titan workers hydrate gzipped tar bundles.
 * This rewrites a zip into such a bundle (files, folders and their modes; no links) on the master,
 * checking names and sizes first, so the worker's own bundle checks apply unchanged.
 */

const MAX_TOTAL_BYTES = 256 * 1024 * 1024;
const MAX_ENTRIES = 100_000;

/** Caps against zip bombs: the unpacked total, and how much it may exceed the zip once past a floor. */
export interface ZipLimits {
  readonly maxTotalBytes?: number;
  /** Default 200. */
  readonly maxRatio?: number;
  /** Unpacked totals below this are not ratio-checked. Default 64 MiB. */
  readonly ratioFloorBytes?: number;
}
const BLOCK = 512;

export interface ZipEntry {
  readonly name: string;
  readonly directory: boolean;
  readonly mode: number;
  readonly mtime: Date;
  readonly data: Buffer;
}

function refuse(archive: string, why: string): TitanError {
  return new TitanError(ErrorCode.INVALID_REQUEST, `archive ${archive} cannot be used: ${why}`);
}

/** Reads every entry of a zip (stored or deflated, no ZIP64, no encryption). */
export function readZip(zip: Buffer, archive: string, limits: ZipLimits = {}): ZipEntry[] {
  const maxTotal = limits.maxTotalBytes ?? MAX_TOTAL_BYTES;
  const maxRatio = limits.maxRatio ?? 200;
  const ratioFloor = limits.ratioFloorBytes ?? 64 * 1024 * 1024;
  const eocd = findEndOfCentralDirectory(zip);
  if (eocd < 0) throw refuse(archive, 'it is not a zip file (no end of central directory); upload the zip the SDK made');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || at === 0xffffffff) throw refuse(archive, 'ZIP64 archives are not supported; keep the project under 4 GiB and 65535 files');
  if (count > MAX_ENTRIES) throw refuse(archive, `it has ${count} entries, over the ${MAX_ENTRIES} limit`);
  const entries: ZipEntry[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== 0x02014b50) throw refuse(archive, 'its central directory is damaged');
    const madeBy = zip.readUInt16LE(at + 4) >> 8;
    const flags = zip.readUInt16LE(at + 8);
    const method = zip.readUInt16LE(at + 10);
    const time = zip.readUInt16LE(at + 12);
    const date = zip.readUInt16LE(at + 14);
    const crc = zip.readUInt32LE(at + 16);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const skip = nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const external = zip.readUInt32LE(at + 38);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    at += 46 + skip;
    const unixMode = madeBy === 3 ? external >>> 16 : 0;
    if ((unixMode & 0o170000) === 0o120000) throw refuse(archive, `entry "${name}" is a symbolic link; links are not supported`);
    const problem = nameProblem(name);
    if (problem !== null) throw refuse(archive, `entry "${name}": ${problem}`);
    if ((flags & 1) !== 0) throw refuse(archive, `entry "${name}" is encrypted`);
    const directory = name.endsWith('/');
    total += size;
    // Checked on the declared sizes before anything is inflated; inflating stops at the declared size.
    if (total > maxTotal) throw refuse(archive, `its files add up to more than ${maxTotal} bytes`);
    if (total > ratioFloor && total > zip.length * maxRatio)
      throw refuse(archive, `it unpacks to more than ${maxRatio} times its ${zip.length} bytes (a zip bomb?)`);
    const data = directory ? Buffer.alloc(0) : entryData(zip, archive, name, local, method, compressed, size, crc);
    const mode = (unixMode & 0o777) !== 0 ? unixMode & 0o777 : directory ? 0o755 : 0o644;
    entries.push({ name, directory, mode, mtime: dosTime(date, time), data });
  }
  return entries;
}

/** A gzipped tar holding the zip's entries, for a job's `bundle`. */
export function zipToBundle(zip: Buffer, archive: string, limits: ZipLimits = {}): { bundle: Buffer; entries: ZipEntry[] } {
  const entries = readZip(zip, archive, limits);
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const header = Buffer.alloc(BLOCK);
    const tooLong = new Header({
      path: entry.name,
      mode: entry.mode,
      size: entry.data.length,
      mtime: entry.mtime,
      type: entry.directory ? 'Directory' : 'File',
      uid: 0,
      gid: 0,
    }).encode(header);
    if (tooLong) throw refuse(archive, `entry "${entry.name}" has a path too long for a bundle (keep it under 100 characters per file name)`);
    blocks.push(header, entry.data);
    const pad = (BLOCK - (entry.data.length % BLOCK)) % BLOCK;
    if (pad > 0) blocks.push(Buffer.alloc(pad));
  }
  blocks.push(Buffer.alloc(2 * BLOCK));
  return { bundle: gzipSync(Buffer.concat(blocks)), entries };
}

function findEndOfCentralDirectory(zip: Buffer): number {
  const stop = Math.max(0, zip.length - 22 - 0xffff);
  for (let i = zip.length - 22; i >= stop; i--) if (zip.readUInt32LE(i) === 0x06054b50) return i;
  return -1;
}

function nameProblem(name: string): string | null {
  if (name === '' || name.startsWith('/') || name.includes('\\') || /^[A-Za-z]:/.test(name)) return 'absolute or Windows-style paths are not allowed';
  if (name.split('/').some((part) => part === '..')) return '".." in a path is not allowed';
  if (/\p{Cc}/u.test(name)) return 'control characters in a name are not allowed';
  return null;
}

function entryData(zip: Buffer, archive: string, name: string, local: number, method: number, compressed: number, size: number, crc: number): Buffer {
  if (local + 30 > zip.length || zip.readUInt32LE(local) !== 0x04034b50) throw refuse(archive, `entry "${name}" has no local header`);
  const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
  if (start + compressed > zip.length) throw refuse(archive, `entry "${name}" runs past the end of the file`);
  const raw = zip.subarray(start, start + compressed);
  let data: Buffer;
  if (method === 0) data = raw;
  else if (method === 8) {
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(size, 1) });
    } catch (err) {
      throw refuse(archive, `entry "${name}" does not inflate (${(err as Error).message})`);
    }
  } else throw refuse(archive, `entry "${name}" uses compression method ${method}; only stored and deflated entries are supported`);
  if (data.length !== size || crc32(data) !== crc) throw refuse(archive, `entry "${name}" is damaged (size or CRC mismatch)`);
  return data;
}

function dosTime(date: number, time: number): Date {
  if (date === 0) return new Date(0);
  return new Date(Date.UTC(1980 + (date >> 9), ((date >> 5) & 0xf) - 1, date & 0x1f, time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2));
}
