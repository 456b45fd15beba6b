/** Stable error codes shared by the wire, the CLI (exit codes) and the HTTP API (statuses). */
export const ErrorCode = {
  BAD_FRAME: 'E_BAD_FRAME',
  FRAME_TOO_LARGE: 'E_FRAME_TOO_LARGE',
  UNKNOWN_VERSION: 'E_UNKNOWN_VERSION',
  UNKNOWN_OPCODE: 'E_UNKNOWN_OPCODE',
  BAD_BODY: 'E_BAD_BODY',
  UNAUTHENTICATED: 'E_UNAUTHENTICATED',
  FORBIDDEN: 'E_FORBIDDEN',
  RATE_LIMITED: 'E_RATE_LIMITED',
  QUOTA_EXCEEDED: 'E_QUOTA_EXCEEDED',
  UNKNOWN_JOB: 'E_UNKNOWN_JOB',
  UNKNOWN_WORKER: 'E_UNKNOWN_WORKER',
  UNKNOWN_ARTIFACT: 'E_UNKNOWN_ARTIFACT',
  /** No inference agent serves the model asked for. */
  UNKNOWN_MODEL: 'E_UNKNOWN_MODEL',
  /** Agents serve the model but none can take a request now: retry later. */
  NO_CAPACITY: 'E_NO_CAPACITY',
  INVALID_REQUEST: 'E_INVALID_REQUEST',
  UNSAFE_PATH: 'E_UNSAFE_PATH',
  CONNECTION_CLOSED: 'E_CONNECTION_CLOSED',
  TIMEOUT: 'E_TIMEOUT',
  ILLEGAL_TRANSITION: 'E_ILLEGAL_TRANSITION',
  /** The master's (or a worker's) disk is full: nothing new is accepted until space is freed. */
  STORE_FULL: 'E_STORE_FULL',
  /** A write carried a leader epoch that is no longer the store's: a newer leader holds the lease. */
  FENCED: 'E_FENCED',
  /** This master is a standby: it did nothing; the error's `leader` names the one to ask, when known. */
  NOT_LEADER: 'E_NOT_LEADER',
  INTERNAL: 'E_INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class TitanError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** With E_NOT_LEADER: the leader's TITAN_PROTO address (host:port), or null when the standby knows none. */
    readonly leader?: string | null,
  ) {
    super(message);
    this.name = 'TitanError';
  }
}

/** What a standby answers every request with; `leader` travels as a field of the error body. */
export function notLeaderError(leader: string | null, epoch: number): TitanError {
  const where = leader === null ? 'no leader is known yet (an election may be under way): retry shortly' : `the leader is ${leader} (epoch ${epoch})`;
  return new TitanError(ErrorCode.NOT_LEADER, `this master is a standby and did nothing; ${where}`, leader);
}

/** True for the errors a full disk raises: SQLite's SQLITE_FULL and the file system's ENOSPC/EDQUOT. */
export function isDiskFull(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return (
    code === 'SQLITE_FULL' ||
    code === 'ENOSPC' ||
    code === 'EDQUOT' ||
    /database or disk is full|no space left on device/i.test(String((err as { message?: unknown }).message))
  );
}

export function storeFullError(dataDir: string): TitanError {
  return new TitanError(
    ErrorCode.STORE_FULL,
    `the master's disk is full (data dir ${dataDir}): nothing new is accepted until it can write again; free space there (or grow the volume) and retry: the master recovers by itself`,
  );
}

/** Any error as the TitanError a client is answered with (a full disk gets its own code). */
export function asTitanError(err: unknown, dataDir = 'the data dir'): TitanError {
  if (err instanceof TitanError) return err;
  if (isDiskFull(err)) return storeFullError(dataDir);
  return new TitanError(ErrorCode.INTERNAL, (err as Error).message);
}
