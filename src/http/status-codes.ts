import { ErrorCode } from '../common/errors.js';

/** The one mapping from Titan's stable error codes to HTTP statuses. */
export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.UNAUTHENTICATED:
      return 401;
    case ErrorCode.FORBIDDEN:
      return 403;
    case ErrorCode.RATE_LIMITED:
      return 429;
    case ErrorCode.UNKNOWN_JOB:
    case ErrorCode.UNKNOWN_WORKER:
    case ErrorCode.UNKNOWN_ARTIFACT:
    case ErrorCode.UNKNOWN_MODEL:
      return 404;
    case ErrorCode.NO_CAPACITY:
    case ErrorCode.FENCED:
    case ErrorCode.NOT_LEADER:
      return 503;
    case ErrorCode.TIMEOUT:
      return 504;
    case ErrorCode.ILLEGAL_TRANSITION:
    case ErrorCode.QUOTA_EXCEEDED:
      return 409;
    case ErrorCode.STORE_FULL:
      return 507;
    case ErrorCode.INTERNAL:
    case ErrorCode.CONNECTION_CLOSED:
      return 500;
    case ErrorCode.BAD_FRAME:
    case ErrorCode.FRAME_TOO_LARGE:
    case ErrorCode.UNKNOWN_VERSION:
    case ErrorCode.UNKNOWN_OPCODE:
    case ErrorCode.BAD_BODY:
    case ErrorCode.INVALID_REQUEST:
    case ErrorCode.UNSAFE_PATH:
      return 400;
    default: {
      const unreachable: never = code;
      return unreachable;
    }
  }
}
