import type { FastifyInstance } from 'fastify';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { BodyLimits } from '../protocol/body-limits.js';
import { parseJsonBody } from '../protocol/json-body.js';

/**
 * Replaces Fastify's JSON parser with the same limits as TCP bodies: depth and entry counts
 * checked before parsing, invalid UTF-8 refused with the field named (never replaced), and a
 * `__proto__` key refused with a message that says so.
 */
export function registerJsonParser(app: FastifyInstance, limits: BodyLimits): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    const what = `${request.method} ${request.url.split('?')[0] ?? ''} body`;
    if (bytes.length === 0) {
      done(new TitanError(ErrorCode.INVALID_REQUEST, `${what} is empty but Content-Type is application/json; send a JSON value or drop the header`), undefined);
      return;
    }
    try {
      done(null, parseJsonBody(bytes, limits, { what, raise: { depth: '--max-body-depth on titan master', entries: '--max-body-entries on titan master' } }));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
