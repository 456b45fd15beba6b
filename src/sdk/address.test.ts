import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMasterList, resolveMasterAddress } from './address.js';

test('one address is a list of one, with the default port when none is given', () => {
  assert.deepEqual(parseMasterList('10.0.0.1'), [{ host: '10.0.0.1', port: 9090 }]);
});

test('a comma-separated list (or an array of them) keeps its order; blanks and spaces are ignored', () => {
  const expected = [
    { host: 'a', port: 9090 },
    { host: 'b', port: 9191 },
    { host: '::1', port: 9292 },
  ];
  assert.deepEqual(parseMasterList(' a:9090, b:9191,,[::1]:9292 '), expected);
  assert.deepEqual(parseMasterList(['a:9090', 'b:9191,[::1]:9292']), expected);
});

test('a list naming no master, or a bad entry, is refused with what was wrong', () => {
  assert.throws(() => parseMasterList(' , '), /names no master/);
  assert.throws(() => parseMasterList('a:9090,b:99999'), /port 99999/);
});

test('TITAN_MASTER may hold a list; host and port stay the first master, as for a single address', () => {
  const address = resolveMasterAddress({ token: 't' }, { TITAN_MASTER: 'a:1,b:2' });
  assert.deepEqual([address.host, address.port], ['a', 1]);
  assert.deepEqual(address.masters, [
    { host: 'a', port: 1 },
    { host: 'b', port: 2 },
  ]);
});
