import { z } from 'zod';
import { ErrorCode, TitanError } from '../common/errors.js';
import { describeIssues } from '../protocol/messages.js';

/** Parses one part of an HTTP request with its schema, or throws E_INVALID_REQUEST (400) naming the fields. */
export function parse<T extends z.ZodType>(schema: T, value: unknown, part: 'path' | 'query' | 'body'): z.output<T> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new TitanError(ErrorCode.INVALID_REQUEST, `bad request ${part}: ${describeIssues(result.error)}`);
  return result.data;
}

export const idParam = z.object({ id: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'ids are 1-128 letters, digits, dot, dash or underscore') });

/** A list limit from the query string. */
export const limit = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);
