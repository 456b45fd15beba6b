import type { Command } from 'commander';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TitanClient } from '../sdk/client.js';
import { masterOptionsFrom, runMaster, withScalingOptions } from './cmd-master.js';
import { runDemo } from './demo.js';
import { positiveInt, titanHome } from './settings.js';

interface UpFlags {
  workers: string;
  listen?: string;
  dataDir?: string;
  slots: string;
  demo?: boolean;
  exitAfterDemo?: boolean;
  allowLegacyUnauthenticated?: boolean;
  legacyRole?: string;
  http?: string | false;
  scaleWindow?: string;
  scaleIdle?: string;
  scaleWebhook?: string;
  scaleWebhookSecretFile?: string;
  spawnable?: boolean;
  spawnTags?: string;
  spawnMax?: string;
  spawnMin?: string;
}

/** `titan up --spawnable`: the first local worker is the host the autoscaler asks for more. */
function spawnFlags(flags: UpFlags): string[] {
  if (flags.spawnable !== true) return [];
  return [
    '--spawnable',
    ...(flags.spawnTags !== undefined ? ['--spawn-tags', flags.spawnTags] : []),
    ...(flags.spawnMax !== undefined ? ['--spawn-max', flags.spawnMax] : []),
    ...(flags.spawnMin !== undefined ? ['--spawn-min', flags.spawnMin] : []),
  ];
}

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function waitForWorkers(client: TitanClient, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const stats = await client.stats();
    if (stats.workers.filter((w) => w.health === 'healthy').length >= count) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`only some of the ${count} local workers registered within ${timeoutMs} ms; see their output above`);
}

export function registerUp(program: Command): void {
  withScalingOptions(program.command('up'))
    .description('start a master and local workers in one command (Ctrl-C stops all)')
    .option('--workers <n>', 'local worker processes', '2')
    .option('--slots <n>', 'slots per worker', '4')
    .option('--listen <host:port>', 'master address', '127.0.0.1:9090')
    .option('--data-dir <dir>', 'master data dir')
    .option('--demo', 'run the demo once everything is up')
    .option('--exit-after-demo', 'stop everything after the demo (exit code = demo result)')
    .option('--http <host:port>', 'HTTP API and dashboard address', '127.0.0.1:8080')
    .option('--no-http', 'serve no HTTP port')
    .option('--allow-legacy-unauthenticated', 'let the master also serve the original Titan protocol v1 (no token; loopback only)')
    .option('--legacy-role <role>', 'the role protocol v1 clients act with: viewer, operator (the default) or admin')
    .option('--spawnable', 'the first local worker starts more workers when the autoscaler asks')
    .option('--spawn-tags <list>', 'with --spawnable: tags a spawned worker may carry, e.g. GPU')
    .option('--spawn-max <n>', 'with --spawnable: most spawned workers at once (default 4)')
    .option('--spawn-min <n>', 'with --spawnable: spawned workers kept even when idle (default 0)')
    .action(async (flags: UpFlags) => {
      const workerCount = positiveInt('--workers', flags.workers);
      const options = masterOptionsFrom({
        ...(flags.listen !== undefined ? { listen: flags.listen } : {}),
        ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
        ...(flags.allowLegacyUnauthenticated === true ? { allowLegacyUnauthenticated: true } : {}),
        ...(flags.legacyRole !== undefined ? { legacyRole: flags.legacyRole } : {}),
        ...(flags.http !== undefined ? { http: flags.http } : {}),
        ...(flags.scaleWindow !== undefined ? { scaleWindow: flags.scaleWindow } : {}),
        ...(flags.scaleIdle !== undefined ? { scaleIdle: flags.scaleIdle } : {}),
        ...(flags.scaleWebhook !== undefined ? { scaleWebhook: flags.scaleWebhook } : {}),
        ...(flags.scaleWebhookSecretFile !== undefined ? { scaleWebhookSecretFile: flags.scaleWebhookSecretFile } : {}),
      });
      const { master, port } = await runMaster(options, 'warn');
      const address = `${options.host}:${port}`;
      process.stdout.write(`cluster token: ${master.token}\n`);
      // The token goes by environment, never on a command line (which every user of the host can read).
      const children = Array.from({ length: workerCount }, (_, i) =>
        spawn(
          process.execPath,
          [
            MAIN,
            'worker',
            '--master',
            address,
            '--slots',
            flags.slots,
            '--work-dir',
            join(titanHome(), 'workers', `w${i + 1}`),
            ...(i === 0 ? spawnFlags(flags) : []),
          ],
          {
            stdio: ['ignore', 'inherit', 'inherit'],
            // Their own process group: Ctrl-C reaches `titan up` alone, which stops them in order
            // (workers drain first, then the master) instead of every process reacting at once.
            detached: true,
            env: { ...process.env, TITAN_TOKEN: master.token, TITAN_LOG_LEVEL: process.env.TITAN_LOG_LEVEL ?? 'warn' },
          },
        ),
      );
      let stopping: Promise<void> | null = null;
      const stopAll = (code: number): Promise<void> => {
        stopping ??= (async () => {
          process.stdout.write(`stopping ${children.length} worker(s) and the master…\n`);
          // Workers leaving is the point now, not news: no "worker lost" warnings.
          master.log.level = 'error';
          await Promise.all(children.map((c) => stopChild(c, 10_000)));
          await master.close();
          process.stdout.write('stopped.\n');
          process.exit(code);
        })();
        return stopping;
      };
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void stopAll(0));
      try {
        const client = await TitanClient.connect({ host: options.host, port, token: master.token });
        try {
          await waitForWorkers(client, workerCount, 15_000);
          process.stdout.write(`titan is up: master ${address}, ${workerCount} worker(s). Try: titan stats\n`);
          const ok = flags.demo ? await runDemo(client, (line) => process.stdout.write(`${line}\n`)) : true;
          if (flags.exitAfterDemo) await stopAll(ok ? 0 : 1);
        } finally {
          client.close();
        }
      } catch (err) {
        // Never leave the local workers behind: they would dial a master that is gone, forever.
        process.stderr.write(`titan up: ${(err as Error).message}\n`);
        await stopAll(1);
      }
      process.stdout.write('Ctrl-C stops the master and the workers.\n');
    });
}
