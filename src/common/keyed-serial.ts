/**
 * Runs the async tasks given for one key one after another, in the order given: a task's reads
 * and its writes cannot interleave with another task of the same key. Tasks of different keys
 * run side by side. A task that fails does not stop the next.
 */
export class KeyedSerial {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key);
    const result = before === undefined ? task() : before.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Settles once every task given so far for `key` has; undefined when none is running or waiting. */
  pending(key: string): Promise<void> | undefined {
    return this.#tails.get(key) as Promise<void> | undefined;
  }

  /** Keys with a task running or waiting (for tests: the map does not grow with finished keys). */
  get busyKeys(): number {
    return this.#tails.size;
  }
}
