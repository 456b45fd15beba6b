import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyWebhook, webhookHeaders, WEBHOOK_HEADERS } from './webhook-signature.js';

const SECRET = 'a-shared-secret-of-32-hex-chars!';
const BODY = '{"pool":"GPU","shortfall":3}';
const NOW = 1_800_000_000_000;

void test('a signed delivery verifies with the same secret, and names its delivery id and timestamp', () => {
  const headers = webhookHeaders('provision', BODY, SECRET, { nowMs: NOW, delivery: 'd-1' });
  assert.equal(headers[WEBHOOK_HEADERS.event], 'provision');
  assert.match(headers[WEBHOOK_HEADERS.signature] ?? '', /^sha256=[0-9a-f]{64}$/);
  assert.deepEqual(verifyWebhook(SECRET, headers, BODY, NOW), { ok: true, delivery: 'd-1', timestamp: NOW / 1000 });
});

void test('an attacker who changes the body, the delivery id or the timestamp, or lacks the secret, fails verification', () => {
  const headers = webhookHeaders('provision', BODY, SECRET, { nowMs: NOW, delivery: 'd-1' });
  const refused = (h: Record<string, string>, body: string, secret = SECRET): string => {
    const verdict = verifyWebhook(secret, h, body, NOW);
    assert.equal(verdict.ok, false);
    return verdict.ok ? '' : verdict.reason;
  };
  assert.match(refused(headers, BODY.replace('3', '300')), /signature does not match/);
  assert.match(refused(headers, `${BODY} `), /signature does not match/, 'one byte more');
  assert.match(refused({ ...headers, [WEBHOOK_HEADERS.delivery]: 'd-2' }, BODY), /signature does not match/, 'a replay under a new id');
  assert.match(refused({ ...headers, [WEBHOOK_HEADERS.timestamp]: String(NOW / 1000 + 1) }, BODY), /signature does not match/);
  assert.match(refused(headers, BODY, 'another-secret-of-enough-length'), /signature does not match/);
  const { [WEBHOOK_HEADERS.signature]: _dropped, ...unsigned } = headers;
  assert.match(refused(unsigned, BODY), /missing one of x-titan-signature/);
});

void test('a delivery signed more than the tolerance ago is refused as a replay', () => {
  const headers = webhookHeaders('provision', BODY, SECRET, { nowMs: NOW - 301_000 });
  const verdict = verifyWebhook(SECRET, headers, BODY, NOW);
  assert.deepEqual(verdict, { ok: false, reason: `timestamp ${(NOW - 301_000) / 1000} is more than 300 s from now` });
  assert.equal(verifyWebhook(SECRET, headers, BODY, NOW - 300_000).ok, true);
});

void test('every delivery gets its own id; without a secret it carries no signature', () => {
  const ids = new Set(Array.from({ length: 50 }, () => webhookHeaders('provision', BODY, SECRET)[WEBHOOK_HEADERS.delivery]));
  assert.equal(ids.size, 50);
  assert.equal(webhookHeaders('provision', BODY, undefined)[WEBHOOK_HEADERS.signature], undefined);
});
