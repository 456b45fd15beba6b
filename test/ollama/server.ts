/**
 * An Ollama-compatible server for tests and benchmarks: `/api/tags`, `/api/generate`, `/api/chat`
 * (and `/api/version`) with Ollama's request fields and response shapes — NDJSON streaming by
 * default, one JSON object with `"stream": false`, the final chunk carrying `done_reason` and the
 * `*_count` / `*_duration` (nanoseconds) statistics. The answer is deterministic (it echoes the
 * prompt word by word), and latency and failures are configurable at start and at run time
 * (`POST /__control`), so tests can make an agent slow or failing on demand.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';

export interface FakeModel {
  readonly name: string;
  /** Bytes, as Ollama reports a model's size. */
  readonly size: number;
}

export type FailMode = 'none' | 'error' | 'hang' | 'drop';

export interface FakeBehaviour {
  /** Before the first chunk. */
  latencyMs: number;
  /** Between chunks when streaming. */
  tokenDelayMs: number;
  /** error: HTTP 500 with Ollama's error body; hang: never answers; drop: closes the socket mid-stream. */
  failMode: FailMode;
  /** Tokens generated when the request sets no options.num_predict. */
  defaultTokens: number;
}

export interface FakeOllamaOptions {
  readonly models: readonly FakeModel[];
  readonly behaviour?: Partial<FakeBehaviour>;
}

const NS_PER_MS = 1_000_000;

export class FakeOllama {
  readonly behaviour: FakeBehaviour;
  readonly models: readonly FakeModel[];
  /** Requests answered on /api/generate and /api/chat, for assertions. */
  generated = 0;
  /** While set, generate and chat requests wait for it before answering (counted in `held`). */
  gate: Promise<void> | null = null;
  held = 0;
  private server: Server | null = null;
  private readonly open = new Set<ServerResponse>();

  constructor(options: FakeOllamaOptions) {
    this.models = options.models;
    this.behaviour = { latencyMs: 0, tokenDelayMs: 0, failMode: 'none', defaultTokens: 8, ...options.behaviour };
  }

  async start(port = 0, host = '127.0.0.1'): Promise<number> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 5_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    for (const res of this.open) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (req.method === 'GET' && path === '/api/tags') return json(res, 200, { models: this.models.map(tagEntry) });
      if (req.method === 'GET' && path === '/api/version') return json(res, 200, { version: '0.5.7' });
      if (req.method === 'GET' && path === '/') return text(res, 200, 'Ollama is running');
      if (req.method === 'POST' && path === '/__control') {
        Object.assign(this.behaviour, pickBehaviour(await readJson(req)));
        return json(res, 200, this.behaviour);
      }
      if (req.method === 'POST' && (path === '/api/generate' || path === '/api/chat'))
        return await this.generate(req, res, path === '/api/chat' ? 'chat' : 'generate');
      return text(res, 404, '404 page not found');
    } catch (err) {
      return json(res, 400, { error: (err as Error).message });
    }
  }

  private async generate(req: IncomingMessage, res: ServerResponse, kind: 'generate' | 'chat'): Promise<void> {
    const body = await readJson(req);
    const model = typeof body.model === 'string' ? body.model : '';
    if (model === '') return json(res, 400, { error: 'model is required' });
    const known = this.models.find((m) => m.name === model || m.name === `${model}:latest`);
    if (known === undefined) return json(res, 404, { error: `model "${model}" not found, try pulling it first` });
    const b = this.behaviour;
    if (b.failMode === 'hang') {
      this.open.add(res);
      res.once('close', () => this.open.delete(res));
      return;
    }
    await sleep(b.latencyMs);
    if (this.gate !== null) {
      this.held += 1;
      await this.gate;
      this.held -= 1;
    }
    if (b.failMode === 'error') return json(res, 500, { error: 'llama runner process has terminated: exit status 2' });
    this.generated += 1;
    const prompt = kind === 'chat' ? lastUserMessage(body.messages) : typeof body.prompt === 'string' ? body.prompt : '';
    const options = (typeof body.options === 'object' && body.options !== null ? body.options : {}) as Record<string, unknown>;
    const limit = typeof options.num_predict === 'number' && options.num_predict > 0 ? options.num_predict : b.defaultTokens;
    const tokens = answerTokens(prompt, limit);
    const started = process.hrtime.bigint();
    const promptCount = Math.max(1, prompt.split(/\s+/).filter(Boolean).length);
    const chunk = (content: string, done: boolean): Record<string, unknown> => {
      const head = { model: known.name, created_at: new Date().toISOString() };
      return kind === 'chat' ? { ...head, message: { role: 'assistant', content }, done } : { ...head, response: content, done };
    };
    const final = (content: string): Record<string, unknown> => {
      const evalNs = Number(process.hrtime.bigint() - started) + 1;
      return {
        ...chunk(content, true),
        done_reason: tokens.length >= limit ? 'length' : 'stop',
        ...(kind === 'generate' ? { context: tokens.map((_, i) => 1000 + i) } : {}),
        total_duration: evalNs + b.latencyMs * NS_PER_MS,
        load_duration: 1_000,
        prompt_eval_count: promptCount,
        prompt_eval_duration: 1_000,
        eval_count: tokens.length,
        eval_duration: evalNs,
      };
    };
    if (body.stream === false) return json(res, 200, final(tokens.join('')));
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    this.open.add(res);
    res.once('close', () => this.open.delete(res));
    for (const [i, token] of tokens.entries()) {
      if (res.destroyed) return;
      if (b.failMode === 'drop' && i === Math.floor(tokens.length / 2)) {
        res.destroy();
        return;
      }
      res.write(`${JSON.stringify(chunk(token, false))}\n`);
      if (b.tokenDelayMs > 0) await sleep(b.tokenDelayMs);
    }
    res.end(`${JSON.stringify(final(''))}\n`);
  }
}

/** The words of an answer that echoes the prompt, each a token; "Echo:" first, so an empty prompt still answers. */
export function answerTokens(prompt: string, limit: number): string[] {
  const words = ['Echo:', ...prompt.split(/\s+/).filter(Boolean)];
  const out: string[] = [];
  for (let i = 0; i < limit && i < words.length; i += 1) out.push(i === 0 ? (words[i] ?? '') : ` ${words[i] ?? ''}`);
  return out;
}

function tagEntry(model: FakeModel): Record<string, unknown> {
  const family = model.name.split(/[:/]/)[0] ?? model.name;
  return {
    name: model.name,
    model: model.name,
    modified_at: '2026-01-01T00:00:00.000000000Z',
    size: model.size,
    digest: createHash('sha256').update(model.name).digest('hex'),
    details: { parent_model: '', format: 'gguf', family, families: [family], parameter_size: '7B', quantization_level: 'Q4_0' },
  };
}

function lastUserMessage(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const m = messages[i] as { role?: unknown; content?: unknown };
    if (m.role === 'user' && typeof m.content === 'string') return m.content;
  }
  return '';
}

function pickBehaviour(body: Record<string, unknown>): Partial<FakeBehaviour> {
  const out: Partial<FakeBehaviour> = {};
  if (typeof body.latencyMs === 'number') out.latencyMs = body.latencyMs;
  if (typeof body.tokenDelayMs === 'number') out.tokenDelayMs = body.tokenDelayMs;
  if (typeof body.defaultTokens === 'number') out.defaultTokens = body.defaultTokens;
  if (body.failMode === 'none' || body.failMode === 'error' || body.failMode === 'hang' || body.failMode === 'drop') out.failMode = body.failMode;
  return out;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if (raw.trim() === '') return {};
  const parsed: unknown = JSON.parse(raw);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
