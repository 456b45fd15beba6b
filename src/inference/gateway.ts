import { Agent as HttpAgent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { CryptoKey } from 'jose';
import type { Logger } from '../common/log.js';
import { normaliseModel } from '../core/inference-placement.js';
import type { InferenceOutcomeReport } from '../protocol/inference-messages.js';
import { OllamaStatsTap } from './ndjson-tap.js';
import { TokenRefused, importPublicKey, verifyInferenceToken, type VerifiedToken } from './tokens.js';

export interface GatewayOptions {
  readonly agentId: string;
  /** The local Ollama-compatible server. */
  readonly serverUrl: string;
  readonly host: string;
  readonly port: number;
  readonly maxConcurrency: number;
  /**
   * A request whose server makes no progress for this long (no answer yet, or no new chunk) is cut
   * and reported as a timeout; a long answer that keeps streaming is not.
   */
  readonly requestTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly log: Logger;
  readonly onOutcome: (report: InferenceOutcomeReport) => void;
}

const PROXIED = new Set(['/api/generate', '/api/chat']);
/** Verified tokens kept so a client reusing its token skips the RSA check; expiry is re-checked on every use. */
const VERIFIED_CACHE = 10_000;

/**
 * The worker's inference gateway: verifies the master's token (signature, audience = this agent,
 * expiry, model), then proxies the request to the local model server, streaming the answer
 * through as it comes, and reports each request's outcome and token count to the master.
 */
export class InferenceGateway {
  active = 0;
  private key: CryptoKey | null = null;
  private server: Server | null = null;
  private readonly upstream: URL;
  private readonly pool: HttpAgent;
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(private readonly options: GatewayOptions) {
    this.upstream = new URL(options.serverUrl);
    this.pool = new HttpAgent({ keepAlive: true, maxSockets: options.maxConcurrency * 2 });
  }

  async setPublicKey(pem: string): Promise<void> {
    this.key = await importPublicKey(pem);
    this.verified.clear();
  }

  async start(): Promise<number> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.options.log.error({ err, url: req.url }, 'inference gateway request failed');
        if (!res.headersSent) send(res, 500, { code: 'E_INTERNAL', error: 'internal error in the inference gateway; see the worker log' });
        else res.destroy();
      });
    });
    server.keepAliveTimeout = 10_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : this.options.port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.pool.destroy();
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path === '/healthz') return send(res, 200, { ok: true, agent: this.options.agentId, active: this.active });
    if (req.method !== 'POST' || !PROXIED.has(path))
      return send(res, 404, { code: 'E_NOT_FOUND', error: `${req.method ?? ''} ${path} is not served here: POST /api/generate or /api/chat` });
    const key = this.key;
    if (key === null) return send(res, 503, { code: 'E_NOT_READY', error: "this agent has not received the master's public key yet; retry shortly" });
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ') !== true)
      return send(res, 401, { code: 'E_TOKEN_MISSING', error: 'send the token from POST /api/v1/inference/request as "Authorization: Bearer <token>"' });
    let token: VerifiedToken;
    try {
      token = await this.verify(header.slice(7).trim(), key);
    } catch (err) {
      if (!(err instanceof TokenRefused)) throw err;
      return send(res, 401, { code: `E_TOKEN_${err.refusal.toUpperCase()}`, error: err.message });
    }
    const body = await readBody(req, this.options.maxBodyBytes);
    if (body === null) return send(res, 413, { code: 'E_TOO_LARGE', error: `the request body is over ${this.options.maxBodyBytes} bytes` });
    let model: unknown;
    try {
      model = (JSON.parse(body.toString('utf8')) as { model?: unknown }).model;
    } catch {
      return send(res, 400, { code: 'E_INVALID_REQUEST', error: 'the body is not JSON: send Ollama\'s {"model": ..., "prompt": ...}' });
    }
    if (typeof model !== 'string' || normaliseModel(model) !== token.model) {
      return send(res, 403, { code: 'E_TOKEN_MODEL', error: `the token is for model ${token.model}, the body asks for ${String(model)}` });
    }
    if (this.active >= this.options.maxConcurrency) {
      return send(res, 429, { code: 'E_BUSY', error: `this agent runs ${this.active} of ${this.options.maxConcurrency} requests; route again` });
    }
    this.proxy(path, body, res, token);
  }

  private async verify(jwt: string, key: CryptoKey): Promise<VerifiedToken> {
    const known = this.verified.get(jwt);
    if (known !== undefined && known.expiresAt > Date.now()) return known;
    if (known !== undefined) this.verified.delete(jwt);
    // A miss (or an expired entry) goes through the full check, which names the refusal.
    const token = await verifyInferenceToken(jwt, key, this.options.agentId);
    if (this.verified.size >= VERIFIED_CACHE) {
      const oldest = this.verified.keys().next();
      if (oldest.done !== true) this.verified.delete(oldest.value);
    }
    this.verified.set(jwt, token);
    return token;
  }

  private proxy(path: string, body: Buffer, res: ServerResponse, token: VerifiedToken): void {
    const started = performance.now();
    this.active += 1;
    let finished = false;
    let timedOut = false;
    const tap = new OllamaStatsTap();
    const finish = (outcome: InferenceOutcomeReport['outcome'], error?: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      this.active -= 1;
      const durationMs = performance.now() - started;
      this.options.onOutcome({
        ...(token.jti !== undefined ? { jti: token.jti } : {}),
        model: token.model,
        outcome,
        tokens: tap.evalCount,
        evalMs: tap.evalMs > 0 ? tap.evalMs : durationMs,
        durationMs,
        ...(error !== undefined ? { error } : {}),
      });
    };
    const upstream = httpRequest(
      {
        protocol: this.upstream.protocol,
        hostname: this.upstream.hostname,
        port: this.upstream.port,
        path,
        method: 'POST',
        agent: this.pool,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (up) => {
        const status = up.statusCode ?? 502;
        res.writeHead(status, { 'content-type': up.headers['content-type'] ?? 'application/json', 'x-titan-agent': this.options.agentId });
        up.on('data', (chunk: Buffer) => {
          timer.refresh();
          tap.push(chunk);
        });
        up.pipe(res);
        up.on('end', () => {
          tap.end();
          if (status >= 500) finish('failure', tap.error ?? `the model server answered ${status}`);
          else if (status >= 400) finish('client_error', tap.error ?? `the model server answered ${status}`);
          else if (!tap.done) finish('failure', 'the model server ended the answer before its final chunk');
          else finish('success');
        });
        up.on('error', (err) => {
          finish(timedOut ? 'timeout' : 'failure', err.message);
          res.destroy();
        });
      },
    );
    const timer = setTimeout(() => {
      timedOut = true;
      upstream.destroy(new Error(`the model server made no progress for ${this.options.requestTimeoutMs} ms`));
    }, this.options.requestTimeoutMs);
    upstream.on('error', (err) => {
      const outcome = timedOut ? 'timeout' : 'failure';
      if (!res.headersSent)
        send(res, timedOut ? 504 : 502, { code: timedOut ? 'E_TIMEOUT' : 'E_UPSTREAM', error: `the model server on this agent failed: ${err.message}` });
      else res.destroy();
      finish(outcome, err.message);
    });
    // The client went away before the answer was complete: stop generating; not the agent's fault.
    res.on('close', () => {
      if (finished) return;
      upstream.destroy();
      finish('cancelled', 'the client closed the connection');
    });
    upstream.end(body);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? null : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
