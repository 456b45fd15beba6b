import type { DriverName } from '../core/resources.js';
import type { LimitsMode } from './confine/confiner.js';
import type { InferenceAgentOptions } from '../inference/agent.js';
import type { SpawnOptions } from './spawn-host.js';
import type { TlsClientFiles } from '../security/tls.js';
import type { HostPort } from '../sdk/address.js';

/** Everything a worker needs, resolved once by the entry point. */
export interface WorkerOptions {
  /** The first master of the list; what jobs get as TITAN_HOST / TITAN_PORT. */
  readonly masterHost: string;
  readonly masterPort: number;
  /** Every master given (`--master a:9090,b:9090`); the worker follows the leader among them. Default: masterHost:masterPort. */
  readonly masters?: readonly HostPort[];
  readonly token: string;
  readonly workDir: string;
  readonly tags: readonly string[];
  readonly slots: number;
  /** Stable across restarts when given; otherwise kept in `<workDir>/worker-id`. */
  readonly workerId?: string;
  /** On SIGTERM, how long running jobs may take to finish before they are handed back. */
  readonly drainGraceMs: number;
  /** Between SIGTERM and SIGKILL when a job is stopped. */
  readonly killGraceMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  /** How jobs run when they do not ask (`--driver`); default process. */
  readonly driver?: DriverName;
  /** Further drivers jobs may ask for (`--allow-drivers`). */
  readonly allowDrivers?: readonly DriverName[];
  /** How limits are enforced: auto (cgroups, else rlimits), or one of them, or none. */
  readonly limits?: LimitsMode;
  /** Processes per job at most (pids cgroup, or RLIMIT_NPROC); 0: no limit. */
  readonly pidsLimit?: number;
  /** Jobs inherit the worker's whole environment (minus TITAN_*) instead of only PATH, HOME, locale and TZ. */
  readonly inheritEnv?: boolean;
  /** Capacity advertised instead of what the host has (`--cpus`, `--memory`, `--gpus`). */
  readonly capacity?: { readonly cpus?: number; readonly memoryMb?: number; readonly gpus?: number };
  /** The Docker Engine socket for the docker driver. */
  readonly dockerSocket?: string;
  /** Set with --inference: serve an Ollama-compatible model server through a token-checking gateway. */
  readonly inference?: InferenceAgentOptions;
  /** A spawnable host: starts worker processes when the master's autoscaler asks. */
  readonly spawn?: SpawnOptions;
  /** The host that spawned this worker: the autoscaler may retire it when idle. */
  readonly spawnedBy?: string;
  /** Who jobs run as (`--job-user`): a user name or uid:gid; `worker` for the worker's own user.
   * Default: `titan-job` when the worker runs as root, else the worker's user. */
  readonly jobUser?: string;
  /** Host paths a sandboxed job must not see besides /root and the password hashes (default: TITAN_HOME). */
  readonly hiddenPaths?: readonly string[];
  /** Dial the master over TLS (its CA; this worker's certificate and key under mTLS). */
  readonly tls?: TlsClientFiles;
  /** `.py` jobs are forked from a warm interpreter unless this is false (`--no-warm`). Default true. */
  readonly warmPython?: boolean;
  /** Modules the warm interpreter imports once, for every job (`--python-preload numpy,pandas`). */
  readonly pythonPreload?: readonly string[];
  /** Most bytes of output an attempt sends to the master and keeps in its log files (64 MiB when absent). */
  readonly maxLogBytes?: number;
  /** Job workspaces and DAG shared folders untouched this long are removed (7 days when absent). */
  readonly retentionMs?: number;
}

export const WORKER_DEFAULTS = {
  slots: 4,
  drainGraceMs: 30_000,
  killGraceMs: 5_000,
  reconnectMinMs: 100,
  reconnectMaxMs: 5_000,
  spawnMax: 4,
} as const;
