import { z } from 'zod';
import { ErrorCode, TitanError } from '../common/errors.js';
import { replicasOf, rollOut } from '../sdk/rollout.js';
import { jobFields, withJobInput } from './job-spec.js';
import { addTool, type ToolContext } from './tool.js';
import { DEFAULT_REQUIREMENT } from '../core/requirement.js';

const serviceId = z.string().min(1).describe('A service id as listed by list_services (the id of its current job).');

const { name: _jobName, retries: _retries, timeout_seconds: _timeout, ...serviceRun } = jobFields;

const deployInput = {
  name: z.string().min(1).max(200).describe('The service name; deploying a name that already runs rolls its replicas over to the new version, one at a time.'),
  ...serviceRun,
  port: z
    .union([z.number().int().min(1).max(65535), z.literal('auto')])
    .optional()
    .describe('The port handed to the process as PORT; default "auto" (the worker picks a free one).'),
  replicas: z.number().int().min(1).max(100).optional().describe('How many copies; default 1, or as many as run now on a redeploy.'),
  restart: z.enum(['always', 'on-failure', 'never']).optional().describe('When the worker restarts it after it exits; default always.'),
  max_restarts: z.number().int().min(0).max(1000).optional().describe('Restarts allowed within 60 s before it goes dead; default 5.'),
  readiness_path: z.string().max(1000).optional().describe('An HTTP path that answers 2xx/3xx when it is ready; default: a TCP connect to its port.'),
  ready_timeout_seconds: z.number().min(1).max(3600).optional().describe('On a redeploy: how long each new replica may take to get ready; default 60.'),
};

/**
 * Services (long-running processes their workers keep alive): listing them, deploying one (or
 * rolling a new version over a running one), stopping and restarting. The master checks each call
 * against the token's role, so a viewer token lists and is refused the rest.
 */
export function registerServiceTools(ctx: ToolContext): void {
  addTool(
    ctx,
    {
      name: 'list_services',
      description: 'Running services: id, name, state, worker, host and port where it answers, pid, restarts, ready, uptime.',
      input: {},
      readOnly: true,
    },
    (_args, titan) => titan.services(),
  );

  addTool(
    ctx,
    {
      name: 'deploy_service',
      description:
        'Run a `command` or an inline `script` (with `filename`) as a service: kept alive by its worker, restarted when it exits, reachable on its PORT. ' +
        'If a service of that name runs already, its replicas are replaced one at a time, each new one ready before the old one stops. Returns {serviceIds, replaced}.',
      input: deployInput,
    },
    (args, titan) => {
      const port = args.port === undefined || args.port === 'auto' ? null : args.port;
      if (port !== null && (args.replicas ?? 1) > 1) {
        throw new TitanError(ErrorCode.INVALID_REQUEST, 'several replicas cannot share one fixed port on a worker; give port "auto" or one replica');
      }
      const service = {
        port,
        restart: args.restart ?? 'always',
        maxRestarts: args.max_restarts ?? 5,
        windowSeconds: 60,
        ...(args.readiness_path !== undefined ? { readinessPath: args.readiness_path } : {}),
      };
      return withJobInput({ ...args, requirement: args.requirement ?? [...DEFAULT_REQUIREMENT] }, 'deploy_service', async (input) => {
        if (replicasOf(await titan.services(), args.name).length > 0) {
          return rollOut(
            titan,
            args.name,
            { ...input, name: args.name, service },
            {
              ...(args.replicas !== undefined ? { replicas: args.replicas } : {}),
              readyTimeoutMs: (args.ready_timeout_seconds ?? 60) * 1000,
            },
          );
        }
        const replicas = args.replicas ?? 1;
        const copies = Array.from({ length: replicas }, (_, i) => ({ ...input, name: replicas > 1 ? `${args.name}-${i + 1}` : args.name, service }));
        const { jobIds } = await titan.submitMany(copies);
        return { serviceIds: jobIds, replaced: [] };
      });
    },
  );

  addTool(
    ctx,
    {
      name: 'stop_service',
      description: 'Stop a service for good: its process tree is killed and it is not restarted. Returns its job.',
      input: { service_id: serviceId },
      destructive: true,
    },
    (args, titan) => titan.stopService(args.service_id),
  );

  addTool(
    ctx,
    {
      name: 'restart_service',
      description: 'Restart a service as a new attempt (its process is stopped, then started again). Returns its job.',
      input: { service_id: serviceId },
      destructive: true,
    },
    (args, titan) => titan.restartService(args.service_id),
  );
}
