import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TitanError, ErrorCode } from '../common/errors.js';
import { Exit, exitCodeFor } from './exit-codes.js';

test('titan infer: no such model is not found (4), no capacity is retry later (7)', () => {
  assert.equal(exitCodeFor(new TitanError(ErrorCode.UNKNOWN_MODEL, 'no agent serves model "x"')), Exit.NOT_FOUND);
  assert.equal(exitCodeFor(new TitanError(ErrorCode.NO_CAPACITY, 'every agent is busy')), Exit.LIMITED);
});
