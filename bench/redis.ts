/** A private redis-server for the BullMQ comparison: installed from Debian's packages when missing. */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { removeDir, spawnTracked, stop, tempDir, type Tracked } from './procs.js';

export type Found = { readonly path: string } | { readonly reason: string };

function which(program: string): string | null {
  const result = spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' });
  const path = result.stdout.trim();
  return result.status === 0 && path !== '' ? path : null;
}

function apt(args: readonly string[], timeoutMs: number): { ok: boolean; output: string } {
  const result = spawnSync('apt-get', args, {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error !== undefined ? String(result.error) : ''}`;
  return { ok: result.status === 0, output: output.trim().split('\n').slice(-5).join('\n') };
}

/** The redis-server binary; installs it (apt-get, then apt-get update and again) when missing. */
export function ensureRedisServer(log: (line: string) => void): Found {
  const found = which('redis-server');
  if (found !== null) return { path: found };
  if (process.getuid?.() !== 0) return { reason: 'redis-server is not on PATH and the bench is not root, so it cannot apt-get install it' };
  if (which('apt-get') === null) return { reason: 'redis-server is not on PATH and there is no apt-get to install it' };
  log('redis-server not found; installing it with apt-get install -y redis-server ...');
  let install = apt(['install', '-y', '-q', 'redis-server'], 240_000);
  if (!install.ok) {
    log('apt-get install failed; running apt-get update and trying again ...');
    const update = apt(['update', '-q'], 180_000);
    if (!update.ok) return { reason: `apt-get update failed: ${update.output}` };
    install = apt(['install', '-y', '-q', 'redis-server'], 240_000);
  }
  if (!install.ok) return { reason: `apt-get install -y redis-server failed: ${install.output}` };
  const installed = which('redis-server');
  return installed !== null ? { path: installed } : { reason: 'apt-get installed redis-server but it is not on PATH' };
}

/** A free loopback port, as the kernel hands one out (released again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port from the kernel'))));
    });
  });
}

export interface RedisHandle {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts redis-server on 127.0.0.1 in its own temp dir, without persistence. */
export async function startRedis(path: string): Promise<RedisHandle> {
  const dir = tempDir('titan-bench-redis-');
  const port = await freePort();
  let redis: Tracked | null = null;
  const close = async (): Promise<void> => {
    if (redis !== null) await stop(redis.child, 'SIGTERM');
    removeDir(dir);
  };
  try {
    redis = spawnTracked(path, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'], {
      cwd: dir,
    });
    await redis.line(/Ready to accept connections/, 15_000);
  } catch (err) {
    await close();
    throw err;
  }
  return { port, close };
}
