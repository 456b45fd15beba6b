import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TitanError, ErrorCode } from '../common/errors.js';
import { Exit } from './exit-codes.js';
import { describeFailure, flagForPort, isBrokenPipe } from './failure.js';

const inUse = (address: string, port: number): NodeJS.ErrnoException =>
  Object.assign(new Error(`listen EADDRINUSE: address already in use ${address}:${port}`), { code: 'EADDRINUSE', address, port });

test('a port in use names the flag that moves it and exits 2, not internal error 10', () => {
  const given = describeFailure(inUse('127.0.0.1', 7000), ['master', '--http', '127.0.0.1:7000']);
  assert.equal(given.exit, Exit.USAGE);
  assert.match(given.message, /127\.0\.0\.1:7000 is already in use/);
  assert.match(given.hint ?? '', /--http <host:port>/);
  const byDefault = describeFailure(inUse('127.0.0.1', 9090), ['up', '--workers', '2']);
  assert.match(byDefault.hint ?? '', /--listen <host:port>.*npm run demo -- --listen 127\.0\.0\.1:0 --http 127\.0\.0\.1:0/);
});

test('the flag is the one given with that port, else the one whose default it is', () => {
  assert.equal(flagForPort(['master', '--listen=0.0.0.0:8080'], 8080), '--listen');
  assert.equal(flagForPort(['master', '--grpc', '127.0.0.1:50051'], 50051), '--grpc');
  assert.equal(flagForPort(['master'], 8080), '--http');
  assert.equal(flagForPort(['master', '--http', '127.0.0.1:9999'], 8080), undefined);
});

test('Titan errors keep their code and exit, with a hint where one helps; anything else is internal', () => {
  const unreachable = describeFailure(new TitanError(ErrorCode.CONNECTION_CLOSED, 'no master at 127.0.0.1:9090'), ['jobs']);
  assert.deepEqual({ exit: unreachable.exit, code: unreachable.code }, { exit: Exit.UNREACHABLE, code: 'E_CONNECTION_CLOSED' });
  assert.match(unreachable.hint ?? '', /titan up/);
  assert.equal(describeFailure(new TitanError(ErrorCode.UNKNOWN_JOB, 'no job x'), ['status', 'x']).hint, null);
  assert.deepEqual(describeFailure(new Error('boom'), []), { exit: Exit.INTERNAL, code: 'E_INTERNAL', message: 'boom', hint: null });
  assert.equal(isBrokenPipe(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })), true);
  assert.equal(isBrokenPipe(new Error('other')), false);
});
