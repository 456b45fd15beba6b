import type { TlsClientFiles } from '../security/tls.js';

/** Everything a worker needs, resolved once by the entry point. */
export interface WorkerOptions {
  readonly masterHost: string;
  readonly masterPort: number;
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
  /** Dial the master over TLS (its CA; this worker's certificate and key under mTLS). */
  readonly tls?: TlsClientFiles;
}

export const WORKER_DEFAULTS = {
  slots: 4,
  drainGraceMs: 30_000,
  killGraceMs: 5_000,
  reconnectMinMs: 100,
  reconnectMaxMs: 5_000,
} as const;

/** Reported at registration and shown by `titan workers`. */
export const WORKER_VERSION = '0.1.0';
