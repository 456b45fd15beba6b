/**
 * Watches an Ollama response as it streams past, without holding it: keeps only the partial last
 * line, and remembers the statistics of the final object (`"done": true`). Works for NDJSON
 * streams and for the single JSON object of `"stream": false`.
 */
export class OllamaStatsTap {
  done = false;
  evalCount = 0;
  /** Ollama's eval_duration, in ms. */
  evalMs = 0;
  error: string | undefined;
  private partial = '';
  private static readonly MAX_LINE = 4 * 1024 * 1024;

  push(chunk: Buffer): void {
    const text = this.partial + chunk.toString('utf8');
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      this.line(text.slice(start, nl));
      start = nl + 1;
    }
    this.partial = text.slice(start);
    // A non-streamed answer can be long; only its end matters, and the stats sit at its end.
    if (this.partial.length > OllamaStatsTap.MAX_LINE) this.partial = '';
  }

  end(): void {
    if (this.partial.trim() !== '') this.line(this.partial);
    this.partial = '';
  }

  private line(raw: string): void {
    if (!raw.includes('"done"') && !raw.includes('"error"')) return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    const v = value as Record<string, unknown>;
    if (typeof v.error === 'string') this.error = v.error;
    if (v.done !== true) return;
    this.done = true;
    if (typeof v.eval_count === 'number') this.evalCount = v.eval_count;
    if (typeof v.eval_duration === 'number') this.evalMs = v.eval_duration / 1e6;
  }
}
