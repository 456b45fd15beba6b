import type { Command } from 'commander';
import { TitanError, ErrorCode } from '../common/errors.js';
import { printJson, withClient, withClientFlags, type GlobalFlags } from './client-command.js';
import { submitInputFrom } from './cmd-run.js';
import { duration, table } from './format.js';
import { positiveInt } from './settings.js';
import { replicasOf, rollOut } from '../sdk/rollout.js';
import { GENERAL } from '../core/requirement.js';

interface DeployFlags extends GlobalFlags {
  port: string;
  replicas?: string;
  readyTimeout?: string;
  requirement?: string;
  name?: string;
  restart: string;
  maxRestarts: string;
  readiness?: string;
  env: string[];
}

function parsePort(value: string): number | null {
  if (value === 'auto') return null;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TitanError(ErrorCode.INVALID_REQUEST, `--port expects 1-65535 or auto, got "${value}"`);
  return port;
}

/** deploy, services, stop, restart: long-running processes kept alive by their workers (PM2's job). */
export function registerServices(program: Command): void {
  withClientFlags(
    program
      .command('deploy')
      .description('run a script or command as a service: kept alive, restarted on exit, reachable on its PORT')
      .argument('<file|command>')
      .argument('[args...]')
      .option('--port <n|auto>', 'the port handed to the process as PORT', 'auto')
      .option('--replicas <n>', 'how many copies (each gets its own port); default 1, or as many as run now on a redeploy')
      .option('--ready-timeout <s>', 'on a redeploy: seconds each new replica may take to get ready', '60')
      .option('--requirement <tags>', 'tags the worker must have')
      .option('--name <name>', 'service name (default: the file or command)')
      .option('--restart <policy>', 'always | on-failure | never', 'always')
      .option('--max-restarts <n>', 'restarts allowed within 60 s before it goes dead', '5')
      .option('--readiness <path>', 'HTTP path that answers 2xx/3xx when ready (default: TCP connect)')
      .option('--env <KEY=VALUE>', 'environment variable (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[]),
  ).action(async (target: string, args: string[], flags: DeployFlags) => {
    if (!['always', 'on-failure', 'never'].includes(flags.restart))
      throw new TitanError(ErrorCode.INVALID_REQUEST, `--restart expects always, on-failure or never, got "${flags.restart}"`);
    const port = parsePort(flags.port);
    const asked = flags.replicas !== undefined ? positiveInt('--replicas', flags.replicas) : undefined;
    const replicas = asked ?? 1;
    if (port !== null && replicas > 1)
      throw new TitanError(ErrorCode.INVALID_REQUEST, 'several replicas cannot share one fixed --port on a worker; use --port auto');
    const service = {
      port,
      restart: flags.restart as 'always' | 'on-failure' | 'never',
      maxRestarts: positiveInt('--max-restarts', flags.maxRestarts),
      windowSeconds: 60,
      ...(flags.readiness !== undefined ? { readinessPath: flags.readiness } : {}),
    };
    await withClient(flags, async (client) => {
      const base = submitInputFrom(target, args, { ...flags, requirement: flags.requirement ?? GENERAL });
      const name = flags.name ?? ('file' in base ? base.file : base.command).split('/').pop() ?? 'service';
      // A service of that name runs already: this is a redeploy, rolled one replica at a time.
      if (replicasOf(await client.services(), name).length > 0) {
        const rolled = await rollOut(
          client,
          name,
          { ...base, service },
          {
            ...(asked !== undefined ? { replicas: asked } : {}),
            readyTimeoutMs: positiveInt('--ready-timeout', flags.readyTimeout ?? '60') * 1000,
            onStep: (line) => {
              if (!flags.json) process.stderr.write(`… ${line}\n`);
            },
          },
        );
        if (flags.json) printJson(rolled);
        else process.stdout.write(`${rolled.serviceIds.join('\n')}\n`);
        return;
      }
      const inputs = Array.from({ length: replicas }, (_, i) => ({ ...base, name: replicas > 1 ? `${name}-${i + 1}` : name, service }));
      const { jobIds } = await client.submitMany(inputs);
      if (flags.json) printJson({ serviceIds: jobIds });
      else process.stdout.write(`${jobIds.join('\n')}\n`);
    });
  });

  withClientFlags(program.command('services').description('running services: worker, address, pid, restarts, uptime')).action(async (flags: GlobalFlags) => {
    await withClient(flags, async (client) => {
      const services = await client.services();
      if (flags.json) return printJson(services);
      const rows = services.map((s) => [
        s.id,
        s.name,
        s.ready ? 'ready' : s.state,
        s.workerId ?? '-',
        s.port !== null ? `${s.host ?? '?'}:${s.port}` : '-',
        s.pid !== null ? String(s.pid) : '-',
        String(s.restarts),
        duration(s.uptimeMs),
      ]);
      process.stdout.write(`${table(['ID', 'NAME', 'STATE', 'WORKER', 'ADDRESS', 'PID', 'RESTARTS', 'UPTIME'], rows)}\n`);
    });
  });

  withClientFlags(program.command('stop').description('stop a service for good (no restart)').argument('<service-id>')).action(
    async (id: string, flags: GlobalFlags) => {
      await withClient(flags, async (client) => {
        const job = await client.stopService(id);
        if (flags.json) printJson(job);
        else process.stdout.write(`service ${job.id} ${job.state}\n`);
      });
    },
  );

  withClientFlags(program.command('restart').description('restart a service as a new attempt').argument('<service-id>')).action(
    async (id: string, flags: GlobalFlags) => {
      await withClient(flags, async (client) => {
        const job = await client.restartService(id);
        if (flags.json) printJson(job);
        else process.stdout.write(`service ${job.id} restarting (attempt ${job.attempt + 1} next)\n`);
      });
    },
  );
}
