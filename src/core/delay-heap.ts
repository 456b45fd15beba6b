/** Jobs waiting for their not-before time, earliest first; removal is lazy like JobQueue's. */
export class DelayHeap {
  private readonly heap: Array<{ at: number; jobId: string }> = [];
  private readonly due = new Map<string, number>();

  get size(): number {
    return this.due.size;
  }

  has(jobId: string): boolean {
    return this.due.has(jobId);
  }

  add(jobId: string, at: number): void {
    this.due.set(jobId, at);
    const heap = this.heap;
    heap.push({ at, jobId });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= heap[i]!.at) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  remove(jobId: string): void {
    this.due.delete(jobId);
  }

  /** The earliest live due time, or null. */
  next(): number | null {
    this.dropStale();
    return this.heap[0]?.at ?? null;
  }

  /** Removes and returns the ids due at or before now. */
  popDue(now: number): string[] {
    const out: string[] = [];
    for (this.dropStale(); this.heap.length > 0 && this.heap[0]!.at <= now; this.dropStale()) {
      const top = this.popTop();
      this.due.delete(top.jobId);
      out.push(top.jobId);
    }
    return out;
  }

  private dropStale(): void {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (this.due.get(top.jobId) === top.at) return;
      this.popTop();
    }
  }

  private popTop(): { at: number; jobId: string } {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && heap[l]!.at < heap[m]!.at) m = l;
        if (r < heap.length && heap[r]!.at < heap[m]!.at) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i]!, heap[m]!];
        i = m;
      }
    }
    return top;
  }
}
