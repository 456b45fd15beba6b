import type { Command } from 'commander';
import { createLogger } from '../common/log.js';
import { composeMaster, type MasterProcess, type MasterProcessOptions } from './master-process.js';
import { boundMasterHeapGrowth, liftStartUpBound } from './master-heap.js';
import { MASTER_DEFAULTS, type MasterOptions } from '../master/options.js';
import { checkLegacyListen } from '../master/legacy/gate.js';
import { parseLegacyRole } from '../security/legacy-permissions.js';
import { JANITOR_DEFAULTS } from '../master/janitor.js';
import { TitanError, ErrorCode } from '../common/errors.js';
import { resolveInferenceOptions } from '../inference/config.js';
import { NAMESPACE_PATTERN } from '../security/policy.js';
import { parseRateLimit } from '../security/rate-limiter.js';
import { checkListenSecurity } from '../security/listen-check.js';
import { WEBHOOK_SECRET_MIN_LENGTH } from '../security/webhook-signature.js';
import type { TlsServerFiles } from '../security/tls.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLogSize } from '../common/log-cap.js';
import { parseDuration } from '../common/when.js';
import { defaultMasterDataDir, parseHostPort, positiveInt, titanHome } from './settings.js';
import { DEFAULT_LEASE_TTL_MS } from '../leadership/lease-ttl.js';
import type { ReplicatedMaster, ReplicatedMasterOptions } from './replicated-master.js';
import { redacted, storeTarget } from './store-target.js';
import { limitOptionsFrom, withLimitOptions, type LimitFlags } from './limit-flags.js';

interface MasterFlags extends LimitFlags {
  listen?: string;
  dataDir?: string;
  heartbeatInterval?: string;
  heartbeatTimeout?: string;
  token?: string;
  allowLegacyUnauthenticated?: boolean;
  legacyRole?: string;
  /** A host:port, or false for --no-http. */
  http?: string | false;
  janitorGrace?: string;
  grpc?: string;
  inferenceConfig?: string;
  scaleWindow?: string;
  scaleIdle?: string;
  scaleWebhook?: string;
  scaleWebhookSecretFile?: string;
  rateLimit?: string;
  namespaceQuota?: string;
  tls?: boolean;
  mtls?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  maxLogSize?: string;
  retention?: string;
  store?: string;
  storeSchema?: string;
  advertise?: string;
  leaseTtl?: string;
}

function seconds(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new TitanError(ErrorCode.INVALID_REQUEST, `${name} must be a number of seconds above 0 (e.g. 15 or 0.5), got "${value}"`);
  return Math.round(n * 1000);
}

function webhookUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TitanError(ErrorCode.INVALID_REQUEST, `--scale-webhook must be an http(s) URL like https://ops.example/provision, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TitanError(ErrorCode.INVALID_REQUEST, `--scale-webhook must use http or https, got "${url.protocol}"`);
  return url.toString();
}

/**
 * The webhook's signing secret: from the file --scale-webhook-secret-file (or TITAN_SCALE_WEBHOOK_SECRET_FILE)
 * names, or TITAN_SCALE_WEBHOOK_SECRET itself; never a flag's value, which `ps` would show.
 */
function webhookSecret(flags: MasterFlags, env: NodeJS.ProcessEnv): string | undefined {
  const file = flags.scaleWebhookSecretFile ?? env.TITAN_SCALE_WEBHOOK_SECRET_FILE;
  let secret = env.TITAN_SCALE_WEBHOOK_SECRET;
  let from = 'TITAN_SCALE_WEBHOOK_SECRET';
  if (file !== undefined) {
    from = `--scale-webhook-secret-file ${file}`;
    try {
      secret = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new TitanError(
        ErrorCode.INVALID_REQUEST,
        `${from}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); create it with: openssl rand -hex 32 > ${file}`,
      );
    }
  }
  if (secret === undefined) return undefined;
  if (secret.length < WEBHOOK_SECRET_MIN_LENGTH) {
    throw new TitanError(
      ErrorCode.INVALID_REQUEST,
      `${from}: the webhook secret must be at least ${WEBHOOK_SECRET_MIN_LENGTH} characters, got ${secret.length}; make one with: openssl rand -hex 32`,
    );
  }
  return secret;
}

/**
 * Auto-scaling settings: flags, then TITAN_SCALE_WINDOW / TITAN_SCALE_IDLE (seconds) / TITAN_SCALE_WEBHOOK,
 * and the webhook's signing secret.
 */
export function scalingOptionsFrom(
  flags: MasterFlags,
  env: NodeJS.ProcessEnv = process.env,
): Pick<MasterOptions, 'scaleWindowMs' | 'scaleIdleMs' | 'scaleWebhook' | 'scaleWebhookSecret'> {
  const window = flags.scaleWindow ?? env.TITAN_SCALE_WINDOW;
  const idle = flags.scaleIdle ?? env.TITAN_SCALE_IDLE;
  const hook = flags.scaleWebhook ?? env.TITAN_SCALE_WEBHOOK;
  const secret = webhookSecret(flags, env);
  if (secret !== undefined && hook === undefined) {
    throw new TitanError(
      ErrorCode.INVALID_REQUEST,
      'a webhook secret was given without --scale-webhook <url> (or TITAN_SCALE_WEBHOOK): name the URL it signs for',
    );
  }
  return {
    ...(window !== undefined ? { scaleWindowMs: seconds('--scale-window', window) } : {}),
    ...(idle !== undefined ? { scaleIdleMs: seconds('--scale-idle', idle) } : {}),
    ...(hook !== undefined ? { scaleWebhook: webhookUrl(hook) } : {}),
    ...(secret !== undefined ? { scaleWebhookSecret: secret } : {}),
  };
}

/** The options `titan master` and `titan up` share for auto-scaling. */
export function withScalingOptions<T extends { option(flags: string, description: string): T }>(command: T): T {
  return command
    .option('--scale-window <s>', 'auto-scaling: seconds queued work must exceed free slots before a worker is asked for (default 15)')
    .option('--scale-idle <s>', 'auto-scaling: seconds a spawned worker may idle before it is retired (default 60)')
    .option('--scale-webhook <url>', 'auto-scaling: POST {pool, requirement, shortfall, …} here instead of asking spawnable hosts')
    .option(
      '--scale-webhook-secret-file <file>',
      'sign each webhook delivery with HMAC-SHA256 and the secret in this file (env TITAN_SCALE_WEBHOOK_SECRET_FILE, or the secret itself in TITAN_SCALE_WEBHOOK_SECRET)',
    );
}

/** --tls (or --mtls, which implies it) with the files of `titan certs init` unless named. */
function serverTls(flags: MasterFlags, env: NodeJS.ProcessEnv): TlsServerFiles | undefined {
  const mtls = flags.mtls === true || ['1', 'true'].includes(env.TITAN_MTLS ?? '');
  if (!mtls && flags.tls !== true && !['1', 'true'].includes(env.TITAN_TLS ?? '')) return undefined;
  const dir = join(titanHome(env), 'certs');
  return {
    ca: flags.ca ?? env.TITAN_CA ?? join(dir, 'ca.crt'),
    cert: flags.cert ?? env.TITAN_CERT ?? join(dir, 'master.crt'),
    key: flags.key ?? env.TITAN_KEY ?? join(dir, 'master.key'),
    mtls,
  };
}

/** --retention 7d; a pass runs every minute, or sooner for a short retention (tests, soaks). */
function retentionOptions(text: string): Pick<MasterOptions, 'retentionMs' | 'retentionIntervalMs'> {
  const retentionMs = parseDuration(text, '--retention');
  if (retentionMs <= 0) throw new TitanError(ErrorCode.INVALID_REQUEST, `--retention must be above 0 (e.g. 7d or 12h), got "${text}"`);
  return { retentionMs, retentionIntervalMs: Math.max(1_000, Math.min(60_000, Math.floor(retentionMs / 4))) };
}

/** "team-a=10,team-b=5" → namespace → most unfinished jobs. */
export function parseNamespaceQuotas(spec: string): Map<string, number> {
  const quotas = new Map<string, number>();
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0)) {
    const [ns, n] = part.split('=');
    if (ns === undefined || n === undefined || !NAMESPACE_PATTERN.test(ns)) {
      throw new TitanError(ErrorCode.INVALID_REQUEST, `--namespace-quota takes ns=count pairs separated by commas (e.g. team-a=10,team-b=5), not "${part}"`);
    }
    quotas.set(ns, positiveInt(`--namespace-quota ${ns}`, n));
  }
  return quotas;
}

export function masterOptionsFrom(flags: MasterFlags, env: NodeJS.ProcessEnv = process.env): MasterProcessOptions {
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
  const rateLimit = flags.rateLimit ?? env.TITAN_RATE_LIMIT;
  const tls = serverTls(flags, env);
  const insecure = flags.insecure === true || ['1', 'true'].includes(env.TITAN_INSECURE ?? '');
  checkListenSecurity({ host: listen.host, ...(http !== undefined ? { httpHost: http.host } : {}), tls: tls !== undefined, insecure, allowLegacy });
  const quotas = flags.namespaceQuota ?? env.TITAN_NAMESPACE_QUOTA;
  const legacyRole = flags.legacyRole ?? env.TITAN_LEGACY_ROLE;
  const maxLogSize = flags.maxLogSize ?? env.TITAN_MAX_LOG_SIZE;
  const retention = flags.retention ?? env.TITAN_RETENTION;
  const dataDir = flags.dataDir ?? defaultMasterDataDir(env);
  const store = storeTarget(flags, dataDir, env);
  return {
    host: listen.host,
    port: listen.port,
    dataDir,
    ...(store.kind === 'sqlite' && store.file !== join(dataDir, 'titan.db') ? { storeFile: store.file } : {}),
    heartbeatIntervalMs: interval !== undefined ? positiveInt('--heartbeat-interval', interval) : MASTER_DEFAULTS.heartbeatIntervalMs,
    heartbeatTimeoutMs: timeout !== undefined ? positiveInt('--heartbeat-timeout', timeout) : MASTER_DEFAULTS.heartbeatTimeoutMs,
    ...limitOptionsFrom(flags),
    authTimeoutMs: MASTER_DEFAULTS.authTimeoutMs,
    ...(token !== undefined ? { token } : {}),
    ...(allowLegacy ? { allowLegacyUnauthenticated: true } : {}),
    ...(legacyRole !== undefined ? { legacyRole: parseLegacyRole(legacyRole) } : {}),
    ...(http !== undefined ? { http: { host: http.host, port: http.port } } : {}),
    ...(flags.janitorGrace !== undefined ? { janitor: { ...JANITOR_DEFAULTS, graceMs: positiveInt('--janitor-grace', flags.janitorGrace) } } : {}),
    ...(grpc !== undefined ? { grpc: { host: grpc.host, port: grpc.port } } : {}),
    inference: resolveInferenceOptions(flags.inferenceConfig ?? env.TITAN_INFERENCE_CONFIG, env),
    ...scalingOptionsFrom(flags, env),
    ...(rateLimit !== undefined ? { rateLimit: parseRateLimit(rateLimit) } : {}),
    ...(quotas !== undefined ? { namespaceQuotas: parseNamespaceQuotas(quotas) } : {}),
    ...(tls !== undefined ? { tls } : {}),
    ...(insecure ? { insecure: true } : {}),
    ...(maxLogSize !== undefined ? { maxLogBytes: parseLogSize('--max-log-size', maxLogSize) } : {}),
    ...(retention !== undefined ? retentionOptions(retention) : {}),
  };
}

/** `--store postgres://…`: the settings of one master among several on that database (docs/HA.md). */
export function replicatedOptionsFrom(flags: MasterFlags, env: NodeJS.ProcessEnv = process.env): ReplicatedMasterOptions | null {
  const options = masterOptionsFrom(flags, env);
  const store = storeTarget(flags, options.dataDir, env);
  if (store.kind !== 'postgres') return null;
  const advertise = flags.advertise ?? env.TITAN_ADVERTISE;
  const ttl = flags.leaseTtl ?? env.TITAN_LEASE_TTL;
  const leaseTtlMs = ttl === undefined ? undefined : parseDuration(ttl, '--lease-ttl');
  if (leaseTtlMs !== undefined && leaseTtlMs < 300)
    throw new TitanError(ErrorCode.INVALID_REQUEST, `--lease-ttl must be at least 300ms (10s is the default), got "${ttl}"`);
  // A new leader gives workers one heartbeat timeout to come back and claim their running jobs,
  // and they cannot find it before the old lease has run out: too short a timeout runs jobs twice.
  const lease = leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  if (options.heartbeatTimeoutMs < 2 * lease)
    throw new TitanError(
      ErrorCode.INVALID_REQUEST,
      `--heartbeat-timeout ${options.heartbeatTimeoutMs}ms is too short for --lease-ttl ${lease}ms: after a failover, workers have one heartbeat timeout to find the new leader and claim their jobs, and cannot before the old lease ends; give a heartbeat timeout of at least ${2 * lease}ms, or a shorter lease`,
    );
  return {
    ...options,
    postgres: { url: store.url, ...(store.schema !== undefined ? { schema: store.schema } : {}) },
    ...(advertise !== undefined ? { advertiseHost: advertise } : {}),
    ...(leaseTtlMs !== undefined ? { leaseTtlMs } : {}),
  };
}

/** Starts one of several masters on PostgreSQL: a standby until elected (docs/HA.md). */
export async function runReplicatedMaster(options: ReplicatedMasterOptions): Promise<ReplicatedMaster> {
  boundMasterHeapGrowth();
  // Loaded only here: a single SQLite master never loads the PostgreSQL client.
  const { ReplicatedMaster } = await import('./replicated-master.js');
  const master = await ReplicatedMaster.start(options, createLogger('master', process.env.TITAN_LOG_LEVEL ?? 'info'));
  liftStartUpBound();
  process.stdout.write(
    `titan master (one of several on ${redacted(options.postgres.url)}) listening on ${options.host}:${master.ports.tcp} (data dir ${options.dataDir}); a standby until it leads\n`,
  );
  if (options.http !== undefined)
    process.stdout.write(`http api and dashboard on ${options.tls !== undefined ? 'https' : 'http'}://${options.http.host}:${master.ports.http}/\n`);
  return master;
}

/** Starts a master and stops it cleanly on SIGINT/SIGTERM. */
export async function runMaster(options: MasterProcessOptions, logLevel = 'info'): Promise<{ master: MasterProcess; port: number }> {
  boundMasterHeapGrowth();
  const master = composeMaster(options, createLogger('master', process.env.TITAN_LOG_LEVEL ?? logLevel));
  const port = await master.start();
  liftStartUpBound();
  process.stdout.write(`titan master listening on ${options.host}:${port} (data dir ${options.dataDir})\n`);
  if (options.http !== undefined)
    process.stdout.write(`http api and dashboard on ${options.tls !== undefined ? 'https' : 'http'}://${options.http.host}:${master.httpPort}/\n`);
  if (options.grpc !== undefined) process.stdout.write(`grpc coordinator on ${options.grpc.host}:${master.grpcPort}\n`);
  return { master, port };
}

export function registerMaster(program: Command): void {
  withLimitOptions(withScalingOptions(program.command('master')))
    .description('run the control plane')
    .option('--listen <host:port>', 'address to listen on (env TITAN_LISTEN)', `${MASTER_DEFAULTS.host}:${MASTER_DEFAULTS.port}`)
    .option('--data-dir <dir>', 'where the store, token and artifacts live (env TITAN_DATA_DIR)')
    .option('--heartbeat-interval <ms>', `how often workers heartbeat (env TITAN_HEARTBEAT_INTERVAL_MS; default ${MASTER_DEFAULTS.heartbeatIntervalMs})`)
    .option(
      '--heartbeat-timeout <ms>',
      `silence after which a worker is dead and its jobs run elsewhere (env TITAN_HEARTBEAT_TIMEOUT_MS; default ${MASTER_DEFAULTS.heartbeatTimeoutMs})`,
    )
    .option('--token <token>', 'use this cluster token instead of the generated one')
    .option('--http <host:port>', 'HTTP API and dashboard address (env TITAN_HTTP; "off" or --no-http disables)')
    .option('--no-http', 'serve no HTTP port')
    .option('--janitor-grace <ms>', 'how far past its timeout a running job may go before the janitor reaps it', String(JANITOR_DEFAULTS.graceMs))
    .option('--grpc <host:port>', 'serve the gRPC CoordinatorService and grpc.health.v1 here (env TITAN_GRPC; off by default)')
    .option(
      '--inference-config <file.json>',
      'inference routing weights and thresholds (env TITAN_INFERENCE_CONFIG; docs/INFERENCE.md); TOKEN_TTL sets the token lifetime',
    )
    .option('--rate-limit <n/window>', 'requests per API token, e.g. 150/10s (the default), 60/1m or off (env TITAN_RATE_LIMIT)')
    .option('--namespace-quota <ns=n,...>', 'most unfinished jobs per namespace, e.g. team-a=10 (env TITAN_NAMESPACE_QUOTA)')
    .option('--tls', 'serve TCP and HTTP over TLS with the certificates of `titan certs init` (env TITAN_TLS=1)')
    .option('--mtls', 'TLS, and require every client and worker to present a certificate signed by the CA (env TITAN_MTLS=1)')
    .option('--ca <file>', 'CA certificate (default ~/.titan/certs/ca.crt; env TITAN_CA)')
    .option('--cert <file>', 'master certificate (default ~/.titan/certs/master.crt; env TITAN_CERT)')
    .option('--key <file>', 'master private key (default ~/.titan/certs/master.key; env TITAN_KEY)')
    .option('--insecure', 'allow plain TCP/HTTP on a non-loopback address (a trusted network only; env TITAN_INSECURE=1)')
    .option(
      '--max-log-size <size>',
      'most output stored per job, e.g. 64M (the default) or 1G; past it a marker line and nothing more (env TITAN_MAX_LOG_SIZE)',
    )
    .option(
      '--retention <duration>',
      'delete finished jobs (with their events and logs) and DAG runs this long after they finished, e.g. 7d (the default), 12h, then the artifact files older than that which nothing names any more; DLQ entries and the audit ledger stay (env TITAN_RETENTION)',
    )
    .option('--allow-legacy-unauthenticated', 'also serve the original Titan protocol v1 (no token; loopback only; env TITAN_ALLOW_LEGACY_UNAUTHENTICATED=1)')
    .option(
      '--legacy-role <role>',
      'the role protocol v1 clients act with, as identity legacy-v1: viewer, operator (the default) or admin (env TITAN_LEGACY_ROLE)',
    )
    .option(
      '--store <url|file>',
      'postgres://user@host:5432/db for one of several masters on that database (docs/HA.md), or a SQLite file (default: titan.db in the data dir; env TITAN_STORE)',
    )
    .option('--store-schema <name>', 'the PostgreSQL schema to keep the tables in (env TITAN_STORE_SCHEMA)')
    .option(
      '--advertise <host>',
      'with --store postgres://: the host other masters send clients and workers to (default: the --listen host; env TITAN_ADVERTISE)',
    )
    .option(
      '--lease-ttl <duration>',
      'with --store postgres://: how long a silent leader keeps the lead before a standby takes over (default 10s; env TITAN_LEASE_TTL)',
    )
    .action(async (flags: MasterFlags) => {
      const replicated = replicatedOptionsFrom(flags);
      if (replicated !== null) {
        const master = await runReplicatedMaster(replicated);
        const stop = (): void => {
          void master.close().then(() => process.exit(0));
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        return;
      }
      const { master } = await runMaster(masterOptionsFrom(flags));
      const stop = (): void => {
        void master.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
