import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scalingOptionsFrom } from './cmd-master.js';

test('scaling flags take seconds (flags over TITAN_SCALE_* env) and refuse what is not a number or an http URL', () => {
  assert.deepEqual(scalingOptionsFrom({}, {}), {});
  assert.deepEqual(scalingOptionsFrom({ scaleWindow: '0.5' }, { TITAN_SCALE_WINDOW: '9', TITAN_SCALE_IDLE: '30' }), {
    scaleWindowMs: 500,
    scaleIdleMs: 30_000,
  });
  assert.deepEqual(scalingOptionsFrom({ scaleWebhook: 'http://ops.local/provision' }, {}), { scaleWebhook: 'http://ops.local/provision' });
  assert.throws(() => scalingOptionsFrom({ scaleWindow: '0' }, {}), /--scale-window must be a number of seconds above 0/);
  assert.throws(() => scalingOptionsFrom({ scaleIdle: 'soon' }, {}), /--scale-idle must be a number of seconds/);
  assert.throws(() => scalingOptionsFrom({ scaleWebhook: 'ftp://x' }, {}), /--scale-webhook must use http or https/);
  assert.throws(() => scalingOptionsFrom({ scaleWebhook: 'not a url' }, {}), /--scale-webhook must be an http\(s\) URL/);
});

test('the webhook secret comes from a file or TITAN_SCALE_WEBHOOK_SECRET, never a flag value; short, unreadable or orphaned secrets are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'titan-secret-'));
  try {
    const file = join(dir, 'hook.secret');
    writeFileSync(file, 'f00dfeedf00dfeedf00dfeed\n', { mode: 0o600 });
    const hook = 'http://ops.local/provision';
    assert.equal(
      scalingOptionsFrom({ scaleWebhook: hook, scaleWebhookSecretFile: file }, {}).scaleWebhookSecret,
      'f00dfeedf00dfeedf00dfeed',
      'the trailing newline is not part of it',
    );
    assert.equal(scalingOptionsFrom({ scaleWebhook: hook }, { TITAN_SCALE_WEBHOOK_SECRET_FILE: file }).scaleWebhookSecret, 'f00dfeedf00dfeedf00dfeed');
    assert.equal(
      scalingOptionsFrom({ scaleWebhook: hook }, { TITAN_SCALE_WEBHOOK_SECRET: 'from-the-environment-0123' }).scaleWebhookSecret,
      'from-the-environment-0123',
    );
    assert.equal(scalingOptionsFrom({ scaleWebhook: hook }, {}).scaleWebhookSecret, undefined);
    writeFileSync(file, 'short\n');
    assert.throws(
      () => scalingOptionsFrom({ scaleWebhook: hook, scaleWebhookSecretFile: file }, {}),
      /must be at least 16 characters, got 5; make one with: openssl rand -hex 32/,
    );
    assert.throws(
      () => scalingOptionsFrom({ scaleWebhook: hook, scaleWebhookSecretFile: join(dir, 'missing') }, {}),
      /cannot read it \(ENOENT\); create it with: openssl rand -hex 32/,
    );
    assert.throws(() => scalingOptionsFrom({}, { TITAN_SCALE_WEBHOOK_SECRET: 'from-the-environment-0123' }), /without --scale-webhook <url>/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
