/**
 * One-shot timers owned by something with an end (a running job): `after` arms one, `clear`
 * cancels every one still pending, so nothing fires for a job that is already over.
 */
export class Timers {
  readonly #pending = new Set<NodeJS.Timeout>();

  after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#pending.delete(timer);
      fn();
    }, ms);
    this.#pending.add(timer);
  }

  clear(): void {
    for (const timer of this.#pending) clearTimeout(timer);
    this.#pending.clear();
  }
}
