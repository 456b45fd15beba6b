import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scalingOptionsFrom } from './cmd-master.js';

test('scaling flags take seconds (flags over TITAN_SCALE_* env) and refuse what is not a number or an http URL', () => {
  assert.deepEqual(scalingOptionsFrom({}, {}), {});
  assert.deepEqual(scalingOptionsFrom({ scaleWindow: '0.5' }, { TITAN_SCALE_WINDOW: '9', TITAN_SCALE_IDLE: '30' }), { scaleWindowMs: 500, scaleIdleMs: 30_000 });
  assert.deepEqual(scalingOptionsFrom({ scaleWebhook: 'http://ops.local/provision' }, {}), { scaleWebhook: 'http://ops.local/provision' });
  assert.throws(() => scalingOptionsFrom({ scaleWindow: '0' }, {}), /--scale-window must be a number of seconds above 0/);
  assert.throws(() => scalingOptionsFrom({ scaleIdle: 'soon' }, {}), /--scale-idle must be a number of seconds/);
  assert.throws(() => scalingOptionsFrom({ scaleWebhook: 'ftp://x' }, {}), /--scale-webhook must use http or https/);
  assert.throws(() => scalingOptionsFrom({ scaleWebhook: 'not a url' }, {}), /--scale-webhook must be an http\(s\) URL/);
});
