import type { Role } from '../security/policy.js';
import type { RateLimit } from '../security/rate-limiter.js';
import type { TlsServerFiles } from '../security/tls.js';
import type { BodyLimits } from '../protocol/body-limits.js';
import type { PipelineLimits } from '../pipeline/pipeline-limits.js';
import type { ClusterSeat } from './cluster-seat.js';

/** Everything the master needs, resolved once by the entry point (flags > TITAN_* env > defaults). */
export interface MasterOptions {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** How often workers are asked to heartbeat. */
  readonly heartbeatIntervalMs: number;
  /** Silence after which a worker is declared dead and its jobs re-queued. */
  readonly heartbeatTimeoutMs: number;
  readonly maxFrameSize: number;
  /** Depth and entry limits on every decoded body, TCP and HTTP (DEFAULT_BODY_LIMITS when absent). */
  readonly bodyLimits?: BodyLimits;
  /** Size, depth, key and time limits on a YAML pipeline sent to the master (DEFAULT_PIPELINE_LIMITS when absent). */
  readonly pipelineLimits?: PipelineLimits;
  /** How long a fresh connection may take to authenticate. */
  readonly authTimeoutMs: number;
  /** A fixed token instead of the one in the data dir (tests, orchestration). */
  readonly token?: string;
  /** Set when this master leads several on one PostgreSQL: its epoch and the masters, for stats and /healthz. */
  readonly cluster?: ClusterSeat;
  /**
   * Serve protocol version 1, the original Java Titan's, whose clients carry no token
   * (docs/COMPAT.md). Only allowed when `host` is a loopback address.
   */
  readonly allowLegacyUnauthenticated?: boolean;
  /** The role protocol v1 clients act with (identity `legacy-v1`); operator when absent. */
  readonly legacyRole?: Role;
  /** Requests per window for each API token; null turns limiting off; absent means 150 per 10 s. */
  readonly rateLimit?: RateLimit | null;
  /** Most unfinished jobs each namespace may have (namespace → count); none when absent. */
  readonly namespaceQuotas?: ReadonlyMap<string, number>;
  /** Serve TCP and HTTP over TLS; with `mtls`, clients and workers must present a certificate signed by the CA. */
  readonly tls?: TlsServerFiles;
  /** Allow plain TCP/HTTP on a non-loopback address (a trusted network). */
  readonly insecure?: boolean;
  /** Where the HTTP API (REST, probes, dashboard) listens; none when absent. */
  readonly http?: { readonly host: string; readonly port: number };
  /** The janitor's sweep period and how far past its timeout a job may run before it is reaped. */
  readonly janitor?: { readonly intervalMs: number; readonly graceMs: number };
  /** Where the gRPC CoordinatorService and grpc.health.v1 listen; none when absent. */
  readonly grpc?: { readonly host: string; readonly port: number };
  /** Auto-scaling: how long queued work must exceed free slots before a worker is asked for. */
  readonly scaleWindowMs?: number;
  /** Auto-scaling: how long a spawned worker may idle before it is retired. */
  readonly scaleIdleMs?: number;
  /** Auto-scaling by an external provisioner: POSTed the pool and shortfall instead of asking hosts. */
  readonly scaleWebhook?: string;
  /** The HMAC-SHA256 key that signs each webhook delivery (src/security/webhook-signature.ts). */
  readonly scaleWebhookSecret?: string;
  /** Most bytes of output stored per job (all attempts); a marker line shows the cut. 64 MiB when absent. */
  readonly maxLogBytes?: number;
  /** Finished jobs, their events and logs, and finished DAG runs are deleted this long after they finished (7 days when absent). */
  readonly retentionMs?: number;
  /** How often retention runs a pass (60 s when absent). */
  readonly retentionIntervalMs?: number;
}

export const MASTER_DEFAULTS = {
  host: '127.0.0.1',
  port: 9090,
  heartbeatIntervalMs: 2_000,
  heartbeatTimeoutMs: 30_000,
  maxFrameSize: 16 * 1024 * 1024,
  authTimeoutMs: 10_000,
  httpPort: 8080,
  scaleWindowMs: 15_000,
  scaleIdleMs: 60_000,
  /** A worker asked of a host that has not registered by then is asked for again. */
  spawnTimeoutMs: 30_000,
} as const;
