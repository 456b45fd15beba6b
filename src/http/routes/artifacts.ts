import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ErrorCode, TitanError } from '../../common/errors.js';
import type { HttpApiParts } from '../parts.js';
import { Opcode } from '../../protocol/opcodes.js';
import { callMaster } from '../master-call.js';
import { parse } from '../validate.js';
import { httpContext } from './jobs.js';

const HashParam = z.object({ hash: z.string().regex(/^[a-f0-9]{64}$/, 'an artifact hash is 64 hex characters') });

/**
 * Content-addressed bytes over HTTP, as ARTIFACT_PUT / ARTIFACT_GET over TCP: a script to run
 * (`run: {kind: "script", fileName, artifact}`), the scripts of a YAML pipeline (`files`), or a
 * folder as a .tar.gz (`bundle`, or a pipeline's `project`).
 */
export function registerArtifactRoutes(app: FastifyInstance, api: HttpApiParts): void {
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post('/api/v1/artifacts', async (request, reply) => {
    if (!Buffer.isBuffer(request.body)) {
      throw new TitanError(
        ErrorCode.INVALID_REQUEST,
        'send the bytes as the body with content-type: application/octet-stream (curl --data-binary @file -H "content-type: application/octet-stream")',
      );
    }
    const answer = (await callMaster(api.requests, httpContext(request), Opcode.ARTIFACT_PUT, { data: request.body })) as { hash: string };
    return reply.code(201).send({ hash: answer.hash, size: request.body.byteLength });
  });

  app.get('/api/v1/artifacts/:hash', async (request, reply) => {
    const { hash } = parse(HashParam, request.params, 'path');
    const answer = (await callMaster(api.requests, httpContext(request), Opcode.ARTIFACT_GET, { hash })) as { data: Uint8Array };
    return reply.type('application/octet-stream').send(Buffer.from(answer.data));
  });
}
