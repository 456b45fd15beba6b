import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DagSubmitRequest } from './messages.js';
import { Opcode } from './opcodes.js';
import { parseBody } from './parse-body.js';
import { parseDagJobsBody, PARSE_SLICE_JOBS } from './parse-body-sliced.js';

const job = (key: string): unknown => ({ key, run: { kind: 'command', command: '/bin/true' } });
const message = (body: unknown): { opcode: number; rid: number; body: unknown; json: boolean; flags: number } => ({
  opcode: Opcode.DAG_SUBMIT,
  rid: 1,
  body,
  json: false,
  flags: 0,
});

describe('DAG bodies checked a slice of jobs at a time', () => {
  test('a large body parses to what parseBody makes of it', async () => {
    const body = { name: 'big', jobs: Array.from({ length: PARSE_SLICE_JOBS * 2 + 5 }, (_, i) => job(`j${i}`)), delaySeconds: 5 };
    assert.deepEqual(await parseDagJobsBody(DagSubmitRequest, message(body)), parseBody(DagSubmitRequest, message(body)));
  });

  test('a wrong job deep in a large body is named by its index, as parseBody names it; the rest of the body first', async () => {
    const jobs = Array.from({ length: PARSE_SLICE_JOBS * 3 }, (_, i) => job(`j${i}`));
    jobs[2_500] = { key: 'j2500', run: { kind: 'command' } };
    await assert.rejects(parseDagJobsBody(DagSubmitRequest, message({ name: 'big', jobs })), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'E_BAD_BODY');
      assert.match(err.message, /^DAG_SUBMIT: jobs\.2500\.run/);
      return true;
    });
    await assert.rejects(parseDagJobsBody(DagSubmitRequest, message({ name: '', jobs })), /DAG_SUBMIT: name: /);
    await assert.rejects(
      parseDagJobsBody(DagSubmitRequest, message({ name: 'x', jobs: Array.from({ length: 100_001 }, () => 1) })),
      /DAG_SUBMIT: jobs: /,
      'the length is checked before any job',
    );
  });
});
