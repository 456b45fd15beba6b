import type { Command } from 'commander';
import { createLogger } from '../common/log.js';
import { Master } from '../master/master.js';
import { MASTER_DEFAULTS, type MasterOptions } from '../master/options.js';
import { checkLegacyListen } from '../master/legacy/gate.js';
import { JANITOR_DEFAULTS } from '../master/janitor.js';
import { defaultMasterDataDir, parseHostPort, positiveInt } from './settings.js';
import { resolveInferenceOptions } from '../inference/config.js';

interface MasterFlags {
  listen?: string;
  dataDir?: string;
  heartbeatInterval?: string;
  heartbeatTimeout?: string;
  token?: string;
  allowLegacyUnauthenticated?: boolean;
  /** A host:port, or false for --no-http. */
  http?: string | false;
  janitorGrace?: string;
  grpc?: string;
  inferenceConfig?: string;
}

export function masterOptionsFrom(flags: MasterFlags, env: NodeJS.ProcessEnv = process.env): MasterOptions {
  const listen = parseHostPort(flags.listen ?? env.TITAN_LISTEN ?? `${MASTER_DEFAULTS.host}:${MASTER_DEFAULTS.port}`, MASTER_DEFAULTS.port);
  const interval = flags.heartbeatInterval ?? env.TITAN_HEARTBEAT_INTERVAL_MS;
  const timeout = flags.heartbeatTimeout ?? env.TITAN_HEARTBEAT_TIMEOUT_MS;
  const token = flags.token ?? env.TITAN_CLUSTER_TOKEN;
  const allowLegacy = flags.allowLegacyUnauthenticated === true || ['1', 'true'].includes(env.TITAN_ALLOW_LEGACY_UNAUTHENTICATED ?? '');
  checkLegacyListen(listen.host, allowLegacy);
  const httpFlag = flags.http ?? env.TITAN_HTTP ?? `${MASTER_DEFAULTS.host}:${MASTER_DEFAULTS.httpPort}`;
  const http = httpFlag === false || httpFlag === 'off' ? undefined : parseHostPort(httpFlag, MASTER_DEFAULTS.httpPort);
  const grpcFlag = flags.grpc ?? env.TITAN_GRPC;
  const grpc = grpcFlag === undefined || grpcFlag === 'off' ? undefined : parseHostPort(grpcFlag, 50051);
  return {
    host: listen.host,
    port: listen.port,
    dataDir: flags.dataDir ?? defaultMasterDataDir(env),
    heartbeatIntervalMs: interval !== undefined ? positiveInt('--heartbeat-interval', interval) : MASTER_DEFAULTS.heartbeatIntervalMs,
    heartbeatTimeoutMs: timeout !== undefined ? positiveInt('--heartbeat-timeout', timeout) : MASTER_DEFAULTS.heartbeatTimeoutMs,
    maxFrameSize: MASTER_DEFAULTS.maxFrameSize,
    authTimeoutMs: MASTER_DEFAULTS.authTimeoutMs,
    ...(token !== undefined ? { token } : {}),
    ...(allowLegacy ? { allowLegacyUnauthenticated: true } : {}),
    ...(http !== undefined ? { http: { host: http.host, port: http.port } } : {}),
    ...(flags.janitorGrace !== undefined ? { janitor: { ...JANITOR_DEFAULTS, graceMs: positiveInt('--janitor-grace', flags.janitorGrace) } } : {}),
    ...(grpc !== undefined ? { grpc: { host: grpc.host, port: grpc.port } } : {}),
    inference: resolveInferenceOptions(flags.inferenceConfig ?? env.TITAN_INFERENCE_CONFIG, env),
  };
}

/** Starts a master and stops it cleanly on SIGINT/SIGTERM. */
export async function runMaster(options: MasterOptions, logLevel = 'info'): Promise<{ master: Master; port: number }> {
  const master = new Master(options, createLogger('master', process.env.TITAN_LOG_LEVEL ?? logLevel));
  const port = await master.start();
  process.stdout.write(`titan master listening on ${options.host}:${port} (data dir ${options.dataDir})\n`);
  if (options.http !== undefined) process.stdout.write(`http api and dashboard on http://${options.http.host}:${master.httpPort}/\n`);
  if (options.grpc !== undefined) process.stdout.write(`grpc coordinator on ${options.grpc.host}:${master.grpcPort}\n`);
  return { master, port };
}

export function registerMaster(program: Command): void {
  program
    .command('master')
    .description('run the control plane')
    .option('--listen <host:port>', 'address to listen on (env TITAN_LISTEN)', `${MASTER_DEFAULTS.host}:${MASTER_DEFAULTS.port}`)
    .option('--data-dir <dir>', 'where the store, token and artifacts live (env TITAN_DATA_DIR)')
    .option('--heartbeat-interval <ms>', 'how often workers heartbeat')
    .option('--heartbeat-timeout <ms>', 'silence after which a worker is dead')
    .option('--token <token>', 'use this cluster token instead of the generated one')
    .option('--http <host:port>', 'HTTP API and dashboard address (env TITAN_HTTP; "off" or --no-http disables)')
    .option('--no-http', 'serve no HTTP port')
    .option('--janitor-grace <ms>', 'how far past its timeout a running job may go before the janitor reaps it', String(JANITOR_DEFAULTS.graceMs))
    .option('--grpc <host:port>', 'serve the gRPC CoordinatorService and grpc.health.v1 here (env TITAN_GRPC; off by default)')
    .option('--inference-config <file.json>', 'inference routing weights and thresholds (env TITAN_INFERENCE_CONFIG; docs/INFERENCE.md); TOKEN_TTL sets the token lifetime')
    .option('--allow-legacy-unauthenticated', 'also serve the original Titan protocol v1 (no token; loopback only; env TITAN_ALLOW_LEGACY_UNAUTHENTICATED=1)')
    .action(async (flags: MasterFlags) => {
      const { master } = await runMaster(masterOptionsFrom(flags));
      const stop = (): void => {
        void master.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
