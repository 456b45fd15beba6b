import type { FastifyReply, FastifyRequest } from 'fastify';

/** One Server-Sent Events response: events with ids, a keep-alive comment, cleanup when the client goes. */
export class SseStream {
  #open = true;
  readonly #keepAlive: NodeJS.Timeout;
  readonly #onClose = new Set<() => void>();
  readonly #abort = new AbortController();

  constructor(
    request: FastifyRequest,
    private readonly reply: FastifyReply,
  ) {
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    reply.raw.write('retry: 1000\n\n');
    this.#keepAlive = setInterval(() => this.comment('keep-alive'), 15_000);
    this.#keepAlive.unref();
    request.raw.on('close', () => this.close());
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get open(): boolean {
    return this.#open;
  }

  /** Writes one event; returns false when the socket asks the writer to wait for a drain. */
  send(event: string, data: unknown, id?: number): boolean {
    if (!this.#open) return false;
    const lines = `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    return this.reply.raw.write(lines);
  }

  /** Runs `cb` once the socket can take more: now, on its next drain, or when the client goes. */
  whenWritable(cb: () => void): void {
    const raw = this.reply.raw;
    if (!this.#open || !raw.writableNeedDrain) {
      cb();
      return;
    }
    let called = false;
    const once = (): void => {
      if (called) return;
      called = true;
      raw.off('drain', once);
      this.#onClose.delete(once);
      cb();
    };
    raw.once('drain', once);
    this.#onClose.add(once);
  }

  comment(text: string): void {
    if (this.#open) this.reply.raw.write(`: ${text}\n\n`);
  }

  onClose(cleanup: () => void): void {
    if (!this.#open) cleanup();
    else this.#onClose.add(cleanup);
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    clearInterval(this.#keepAlive);
    this.#abort.abort();
    for (const cleanup of this.#onClose) cleanup();
    this.#onClose.clear();
    this.reply.raw.end();
  }
}

/** The offset an SSE client resumes after: the Last-Event-ID header (a reconnect) wins over `?after=`. */
export function resumeOffset(request: FastifyRequest, after: number): number {
  const header = request.headers['last-event-id'];
  const value = Array.isArray(header) ? header[0] : header;
  if (value !== undefined && /^\d+$/.test(value.trim())) return Number(value.trim());
  return after;
}
