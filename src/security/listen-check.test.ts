import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkListenSecurity } from './listen-check.js';

void test('plain TCP is allowed on loopback, elsewhere only with TLS or --insecure; legacy v1 never with TLS', () => {
  const base = { tls: false, insecure: false, allowLegacy: false };
  checkListenSecurity({ ...base, host: '127.0.0.1', httpHost: 'localhost' });
  checkListenSecurity({ ...base, host: '::1' });
  assert.throws(() => checkListenSecurity({ ...base, host: '0.0.0.0' }), /refusing to listen on 0\.0\.0\.0 \(--listen\) without TLS/);
  assert.throws(() => checkListenSecurity({ ...base, host: '127.0.0.1', httpHost: '10.0.0.5' }), /10\.0\.0\.5 \(--http\)/);
  checkListenSecurity({ ...base, host: '0.0.0.0', tls: true });
  checkListenSecurity({ ...base, host: '0.0.0.0', insecure: true });
  assert.throws(() => checkListenSecurity({ ...base, host: '127.0.0.1', tls: true, allowLegacy: true }), /cannot run over TLS/);
});
