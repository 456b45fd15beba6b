/**
 * Keyed deadlines in one min-heap behind a single timer: nothing polls, and re-arming a key
 * (a heartbeat) is O(log n) with stale heap entries skipped lazily.
 */
export class Deadlines {
  private readonly heap: Array<{ at: number; key: string; version: number }> = [];
  private readonly current = new Map<string, { version: number; fire: () => void }>();
  private version = 0;
  private timer: NodeJS.Timeout | null = null;
  private armedAt = Infinity;
  private closed = false;

  constructor(private readonly clock: () => number = Date.now) {}

  set(key: string, at: number, fire: () => void): void {
    if (this.closed) return;
    const version = ++this.version;
    this.current.set(key, { version, fire });
    this.push({ at, key, version });
    this.arm();
  }

  clear(key: string): void {
    this.current.delete(key);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.current.clear();
  }

  private arm(): void {
    const top = this.heap[0];
    if (top === undefined || top.at >= this.armedAt) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.armedAt = top.at;
    this.timer = setTimeout(() => this.fireDue(), Math.max(0, top.at - this.clock()));
    this.timer.unref();
  }

  private fireDue(): void {
    this.timer = null;
    this.armedAt = Infinity;
    const now = this.clock();
    for (let top = this.heap[0]; top !== undefined && top.at <= now; top = this.heap[0]) {
      this.pop();
      const live = this.current.get(top.key);
      if (live === undefined || live.version !== top.version) continue;
      this.current.delete(top.key);
      live.fire();
    }
    if (!this.closed) this.arm();
  }

  private push(entry: { at: number; key: string; version: number }): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (p.at <= entry.at) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
      if (heap[child]!.at >= last.at) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
