import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** A one-line value kept in a file: read when present, else made once and written (with mode). */
export function loadOrCreateValue(path: string, make: () => string, mode = 0o600): string {
  try {
    const existing = readFileSync(path, 'utf8').trim();
    if (existing.length > 0) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(path), { recursive: true });
  const value = make();
  writeFileSync(path, `${value}\n`, { mode });
  return value;
}
