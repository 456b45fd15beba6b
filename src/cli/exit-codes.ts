import { TitanError, ErrorCode } from '../common/errors.js';

/** Exit codes scripts can branch on. */
export const Exit = {
  OK: 0,
  JOB_FAILED: 1,
  USAGE: 2,
  UNREACHABLE: 3,
  NOT_FOUND: 4,
  UNAUTHENTICATED: 5,
  TIMEOUT: 6,
  /** Over a rate limit or quota, or the master's disk is full: retry later. */
  LIMITED: 7,
  INTERNAL: 10,
} as const;

export function exitCodeFor(err: unknown): number {
  if (!(err instanceof TitanError)) return Exit.INTERNAL;
  switch (err.code) {
    case ErrorCode.CONNECTION_CLOSED:
    case ErrorCode.NOT_LEADER:
      return Exit.UNREACHABLE;
    case ErrorCode.UNKNOWN_JOB:
    case ErrorCode.UNKNOWN_WORKER:
    case ErrorCode.UNKNOWN_ARTIFACT:
    case ErrorCode.UNKNOWN_MODEL:
      return Exit.NOT_FOUND;
    case ErrorCode.UNAUTHENTICATED:
    case ErrorCode.FORBIDDEN:
      return Exit.UNAUTHENTICATED;
    case ErrorCode.TIMEOUT:
      return Exit.TIMEOUT;
    case ErrorCode.RATE_LIMITED:
    case ErrorCode.QUOTA_EXCEEDED:
    case ErrorCode.NO_CAPACITY:
    case ErrorCode.STORE_FULL:
      return Exit.LIMITED;
    case ErrorCode.INVALID_REQUEST:
    case ErrorCode.BAD_BODY:
    case ErrorCode.UNSAFE_PATH:
      return Exit.USAGE;
    default:
      return Exit.INTERNAL;
  }
}
