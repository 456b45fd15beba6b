/**
 * Folders and files only their owner may read: the master's data dir holds job environments
 * (secrets), KV values, logs and keys, so it is 0700 and its database files 0600 whatever the umask.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';

export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Creates the file when missing (so SQLite, which gives its -wal and -shm files the database's mode, starts private). */
export function makePrivateFile(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

/** Tightens files made before modes were set (an older Titan's), when they exist. */
export function tightenIfPresent(paths: readonly string[]): void {
  for (const path of paths) if (existsSync(path)) chmodSync(path, 0o600);
}
