import { test } from 'node:test';
import assert from 'node:assert/strict';
import { holderAddresses, holderText } from './holder.js';

test("a holder's addresses come back as written", () => {
  const holder = { name: 'db1:4242:a1b2c3', tcp: '10.0.0.5:9090', http: '10.0.0.5:8080' };
  assert.deepEqual(holderAddresses(holderText(holder)), holder);
  assert.deepEqual(holderAddresses(holderText({ ...holder, http: null })), { ...holder, http: null });
});

test('a holder written by something else names the holder and no address', () => {
  assert.deepEqual(holderAddresses('test-holder'), { name: 'test-holder', tcp: null, http: null });
  assert.deepEqual(holderAddresses('{"name":"x","tcp":"not an address","http":7}'), { name: 'x', tcp: null, http: null });
  assert.deepEqual(holderAddresses('[1,2]'), { name: '[1,2]', tcp: null, http: null });
  assert.equal(holderAddresses(null), null);
});

test('IPv6 addresses are kept in brackets, and an HTTP address may be a base URL', () => {
  assert.deepEqual(holderAddresses(holderText({ name: 'n', tcp: '[::1]:9090', http: 'https://[::1]:8443' })), {
    name: 'n',
    tcp: '[::1]:9090',
    http: 'https://[::1]:8443',
  });
  assert.equal(holderAddresses(holderText({ name: 'n', tcp: 'a:1', http: 'https://b:8443/path' }))?.http, null);
});
