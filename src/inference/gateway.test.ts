import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../common/log.js';
import type { InferenceOutcomeReport } from '../protocol/inference-messages.js';
import { FakeOllama } from '../../test/ollama/server.js';
import { InferenceGateway } from './gateway.js';
import { PRIVATE_KEY_FILE, loadOrCreateSigningKeys, type SigningKeys } from './keys.js';
import { signInferenceToken } from './tokens.js';

describe('the inference gateway', () => {
  const dir = mkdtempSync(join(tmpdir(), 'titan-gateway-'));
  const ollama = new FakeOllama({ models: [{ name: 'llama3:latest', size: 4_700_000_000 }] });
  const outcomes: InferenceOutcomeReport[] = [];
  let keys: SigningKeys;
  let gateway: InferenceGateway;
  let base = '';
  let upstream = '';

  before(async () => {
    keys = await loadOrCreateSigningKeys(dir);
    upstream = `http://127.0.0.1:${await ollama.start(0)}`;
    gateway = new InferenceGateway({
      agentId: 'agent-1',
      serverUrl: upstream,
      host: '127.0.0.1',
      port: 0,
      maxConcurrency: 2,
      requestTimeoutMs: 500,
      maxBodyBytes: 1 << 20,
      log: createLogger('test', 'silent'),
      onOutcome: (o) => outcomes.push(o),
    });
    await gateway.setPublicKey(keys.publicPem);
    base = `http://127.0.0.1:${await gateway.start()}`;
  });
  after(async () => {
    await gateway.close();
    await ollama.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const token = (over: { agentId?: string; model?: string; at?: number; ttl?: number; with?: SigningKeys } = {}): Promise<string> =>
    signInferenceToken(
      (over.with ?? keys).privateKey,
      (over.with ?? keys).kid,
      {
        clientId: 'c1',
        agentId: over.agentId ?? 'agent-1',
        model: over.model ?? 'llama3:latest',
        jti: `j-${outcomes.length}-${Math.random()}`,
        ttlSeconds: over.ttl ?? 60,
      },
      over.at ?? Date.now(),
    );
  const call = async (jwt: string | null, body: unknown = { model: 'llama3', prompt: 'the sky is blue' }, path = '/api/generate'): Promise<Response> =>
    fetch(`${base}${path}`, { method: 'POST', headers: jwt === null ? {} : { authorization: `Bearer ${jwt}` }, body: JSON.stringify(body) });
  const nextOutcome = async (count: number): Promise<InferenceOutcomeReport> => {
    for (let i = 0; i < 1000 && outcomes.length < count; i += 1) await new Promise((r) => setTimeout(r, 10));
    const o = outcomes[count - 1];
    assert.ok(o !== undefined, `outcome ${count} was never reported`);
    return o;
  };

  test('keeps the private key in the data dir, readable by its owner only, and loads the same pair again', async () => {
    assert.equal(statSync(join(dir, PRIVATE_KEY_FILE)).mode & 0o777, 0o600);
    const again = await loadOrCreateSigningKeys(dir);
    assert.equal(again.publicPem, keys.publicPem);
    assert.equal(again.kid, keys.kid);
  });

  test("a valid token gets the model server's stream through unchanged, and the outcome is reported with its tokens", async () => {
    const before = outcomes.length;
    const res = await call(await token());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { response: string; done: boolean; eval_count?: number });
    assert.equal(lines.map((l) => l.response).join(''), 'Echo: the sky is blue');
    assert.equal(lines.at(-1)?.done, true);
    const o = await nextOutcome(before + 1);
    assert.equal(o.outcome, 'success');
    assert.equal(o.tokens, 5);
    assert.equal(o.model, 'llama3:latest');
    assert.match(o.jti ?? '', /^j-/);
  });

  test('streams as the server generates: the first chunk arrives while the rest is still being produced', async () => {
    ollama.behaviour.tokenDelayMs = 150;
    try {
      const res = await call(await token(), { model: 'llama3', prompt: 'one two three four' });
      const reader = res.body?.getReader();
      assert.ok(reader !== undefined);
      const first = new TextDecoder().decode((await reader.read()).value);
      assert.match(first, /"response":"Echo:"/);
      assert.doesNotMatch(first, /"done":true/, 'the gateway did not hold the answer back until the end');
      let rest = '';
      for (let r = await reader.read(); r.done !== true; r = await reader.read()) rest += new TextDecoder().decode(r.value);
      assert.match(rest, /"done":true/);
    } finally {
      ollama.behaviour.tokenDelayMs = 0;
    }
  });

  test('/api/chat and non-streamed answers pass too', async () => {
    const chat = await call(await token(), { model: 'llama3:latest', messages: [{ role: 'user', content: 'hi' }], stream: false }, '/api/chat');
    assert.equal(chat.status, 200);
    assert.deepEqual(((await chat.json()) as { message: unknown }).message, { role: 'assistant', content: 'Echo: hi' });
  });

  const refusals: { name: string; make: () => Promise<string | null>; body?: unknown; status: number; code: string; message: RegExp }[] = [
    { name: 'no token', make: () => Promise.resolve(null), status: 401, code: 'E_TOKEN_MISSING', message: /Authorization: Bearer/ },
    { name: 'an expired token', make: () => token({ at: Date.now() - 120_000, ttl: 60 }), status: 401, code: 'E_TOKEN_EXPIRED', message: /expired/ },
    { name: 'a token for another agent', make: () => token({ agentId: 'agent-2' }), status: 401, code: 'E_TOKEN_WRONG_AUDIENCE', message: /another agent/ },
    { name: 'a token for another model', make: () => token({ model: 'phi3:latest' }), status: 403, code: 'E_TOKEN_MODEL', message: /for model phi3:latest/ },
    { name: 'a garbled token', make: () => Promise.resolve('not.a.jwt'), status: 401, code: 'E_TOKEN_MALFORMED', message: /not valid/ },
  ];
  for (const r of refusals) {
    test(`refuses ${r.name}`, async () => {
      const served = ollama.generated;
      const res = await call(await r.make(), r.body);
      assert.equal(res.status, r.status);
      const body = (await res.json()) as { code: string; error: string };
      assert.equal(body.code, r.code);
      assert.match(body.error, r.message);
      assert.equal(ollama.generated, served, 'a refused request never reaches the model server');
    });
  }

  test('refuses a token signed with another key (forged), and one whose payload was altered', async () => {
    const otherDir = mkdtempSync(join(tmpdir(), 'titan-forger-'));
    try {
      const forged = await token({ with: await loadOrCreateSigningKeys(otherDir) });
      const res = await call(forged);
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { code: string }).code, 'E_TOKEN_FORGED');
      const [head, , sig] = (await token()).split('.');
      const payload = Buffer.from(
        JSON.stringify({ model: 'llama3:latest', iss: 'titan-master', sub: 'evil', aud: 'agent-1', exp: Math.floor(Date.now() / 1000) + 3600 }),
      ).toString('base64url');
      const altered = await call(`${head ?? ''}.${payload}.${sig ?? ''}`);
      assert.equal(((await altered.json()) as { code: string }).code, 'E_TOKEN_FORGED');
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  test('a model server error is passed on and reported as a failure; a hang is cut at the timeout', async () => {
    ollama.behaviour.failMode = 'error';
    try {
      const before = outcomes.length;
      const res = await call(await token());
      assert.equal(res.status, 500);
      assert.match(((await res.json()) as { error: string }).error, /llama runner/);
      assert.equal((await nextOutcome(before + 1)).outcome, 'failure');
      ollama.behaviour.failMode = 'hang';
      const hung = await call(await token());
      assert.equal(hung.status, 504);
      assert.equal((await nextOutcome(before + 2)).outcome, 'timeout');
      ollama.behaviour.failMode = 'drop';
      const dropped = await call(await token(), { model: 'llama3', prompt: 'one two three four five six' });
      await dropped.text().catch(() => '');
      assert.equal((await nextOutcome(before + 3)).outcome, 'failure');
    } finally {
      ollama.behaviour.failMode = 'none';
    }
  });

  test("an unknown model on the server is the client's error, not the agent's", async () => {
    const before = outcomes.length;
    const res = await call(await token({ model: 'ghost:latest' }), { model: 'ghost', prompt: 'x' });
    assert.equal(res.status, 404);
    assert.equal((await nextOutcome(before + 1)).outcome, 'client_error');
  });

  test('over its maximum concurrency it answers 429 instead of queueing', async () => {
    // Its own gateway with a no-progress timeout longer than the test: the two held requests are
    // released by the test, not by the clock.
    const busy = new InferenceGateway({
      agentId: 'agent-1',
      serverUrl: upstream,
      host: '127.0.0.1',
      port: 0,
      maxConcurrency: 2,
      requestTimeoutMs: 60_000,
      maxBodyBytes: 1 << 20,
      log: createLogger('test', 'silent'),
      onOutcome: () => undefined,
    });
    await busy.setPublicKey(keys.publicPem);
    const busyBase = `http://127.0.0.1:${await busy.start()}`;
    let release = (): void => undefined;
    ollama.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      const send = async (): Promise<Response> =>
        fetch(`${busyBase}/api/generate`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await token()}` },
          body: JSON.stringify({ model: 'llama3', prompt: 'x' }),
        });
      const slow = [send(), send()];
      for (let i = 0; i < 1000 && ollama.held < 2; i += 1) await new Promise((r) => setTimeout(r, 10));
      assert.equal(ollama.held, 2, 'both requests reached the model server');
      const third = await send();
      assert.equal(third.status, 429);
      assert.equal(((await third.json()) as { code: string }).code, 'E_BUSY');
      release();
      for (const r of await Promise.all(slow)) assert.equal(r.status, 200);
    } finally {
      ollama.gate = null;
      release();
      await busy.close();
    }
  });
});
