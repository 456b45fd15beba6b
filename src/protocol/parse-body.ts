import type { z } from 'zod';
import { TitanError, ErrorCode } from '../common/errors.js';
import { describeIssues } from './messages.js';
import { opcodeName } from './opcodes.js';
import type { IncomingMessage } from './replier.js';

/** Parses a body with its schema, or throws E_BAD_BODY naming the fields that are wrong. */
export function parseBody<T extends z.ZodType>(schema: T, msg: IncomingMessage): z.output<T> {
  const result = schema.safeParse(msg.body);
  if (!result.success) {
    throw new TitanError(ErrorCode.BAD_BODY, `${opcodeName(msg.opcode)}: ${describeIssues(result.error)}`);
  }
  return result.data;
}

/** One start time or the other: with both, one would be silently ignored. */
export function bothDelayAndAt(delay: string, at: string): TitanError {
  return new TitanError(ErrorCode.INVALID_REQUEST, `${delay} and ${at} contradict each other (a delay from now, or an instant); give one of them`);
}
