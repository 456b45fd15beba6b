import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeOllama } from './server.js';

describe('the Ollama-compatible test server', () => {
  const server = new FakeOllama({
    models: [
      { name: 'llama3:latest', size: 4_700_000_000 },
      { name: 'phi3:mini', size: 2_200_000_000 },
    ],
  });
  let base = '';
  before(async () => {
    base = `http://127.0.0.1:${await server.start(0)}`;
  });
  after(() => server.close());

  const post = (path: string, body: unknown): Promise<Response> => fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const lines = async (res: Response): Promise<Record<string, unknown>[]> =>
    (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  test('/api/tags lists the models with size, digest and details', async () => {
    const body = (await (await fetch(`${base}/api/tags`)).json()) as { models: Record<string, unknown>[] };
    assert.deepEqual(
      body.models.map((m) => [m.name, m.model, m.size]),
      [
        ['llama3:latest', 'llama3:latest', 4_700_000_000],
        ['phi3:mini', 'phi3:mini', 2_200_000_000],
      ],
    );
    assert.match(String(body.models[0]?.digest), /^[0-9a-f]{64}$/);
    assert.equal((body.models[0]?.details as { format: string }).format, 'gguf');
  });

  test('/api/generate streams NDJSON chunks and ends with the statistics', async () => {
    const res = await post('/api/generate', { model: 'llama3', prompt: 'why is the sky blue' });
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const chunks = await lines(res);
    const last = chunks.at(-1) ?? {};
    assert.ok(chunks.slice(0, -1).every((c) => c.done === false && typeof c.response === 'string' && c.model === 'llama3:latest'));
    assert.equal(
      chunks
        .slice(0, -1)
        .map((c) => c.response)
        .join(''),
      'Echo: why is the sky blue',
    );
    assert.equal(last.done, true);
    assert.equal(last.response, '');
    assert.equal(last.done_reason, 'stop');
    assert.equal(last.eval_count, 6);
    for (const key of ['total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_duration'])
      assert.equal(typeof last[key], 'number', key);
    assert.ok(Array.isArray(last.context));
  });

  test('/api/chat streams message chunks; stream:false answers one object; num_predict limits the tokens', async () => {
    const chunks = await lines(await post('/api/chat', { model: 'phi3:mini', messages: [{ role: 'user', content: 'hello there' }] }));
    assert.deepEqual(chunks[0]?.message, { role: 'assistant', content: 'Echo:' });
    assert.equal(chunks.at(-1)?.done, true);
    const one = (await (await post('/api/generate', { model: 'llama3', prompt: 'a b c d e', stream: false, options: { num_predict: 3 } })).json()) as Record<
      string,
      unknown
    >;
    assert.equal(one.response, 'Echo: a b');
    assert.equal(one.done_reason, 'length');
    assert.equal(one.eval_count, 3);
  });

  test("an unknown model is a 404 with Ollama's error body", async () => {
    const res = await post('/api/generate', { model: 'nope', prompt: 'x' });
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { error: 'model "nope" not found, try pulling it first' });
  });

  test('failures are switched on and off at run time', async () => {
    await post('/__control', { failMode: 'error' });
    const res = await post('/api/generate', { model: 'llama3', prompt: 'x' });
    assert.equal(res.status, 500);
    assert.match(((await res.json()) as { error: string }).error, /llama runner/);
    await post('/__control', { failMode: 'none' });
    assert.equal((await post('/api/generate', { model: 'llama3', prompt: 'x', stream: false })).status, 200);
  });
});
