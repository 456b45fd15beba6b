import { asTitanError } from '../common/errors.js';
import type { Replier } from '../protocol/replier.js';

/**
 * Answers a request once its change is on disk: `ok` with what `answer` makes of the result, or
 * the error as a session answers a thrown one (E_STORE_FULL for a change a full disk held back).
 */
export function replyWhenDurable<T>(reply: Replier, durable: Promise<T>, answer: (result: T) => unknown): void {
  durable.then(answer).then(
    (body) => reply.ok(body),
    (err: unknown) => replyError(reply, err),
  );
}

/** Answers `ok` with what a read of the store resolves to, or its error as a session answers a thrown one. */
export function replyWhenRead(reply: Replier, read: Promise<unknown>): void {
  replyWhenDurable(reply, read, (body) => body);
}

/** Answers with an error as a session answers a thrown one. */
export function replyError(reply: Replier, err: unknown): void {
  const error = asTitanError(err);
  reply.error(error.code, error.message);
}
