import type { Job } from './job.js';

/** Higher priority first; equal priorities in submission order. */
function before(a: Job, b: Job): boolean {
  if (a.spec.priority !== b.spec.priority) return a.spec.priority > b.spec.priority;
  return a.seq < b.seq;
}

/**
 * A binary heap of ready jobs. Removal of an arbitrary job (cancel) is lazy: the id is dropped
 * from `members` and the entry skipped when it surfaces, which keeps cancel O(1).
 */
export class JobQueue {
  private readonly heap: Job[] = [];
  private readonly members = new Set<string>();

  get size(): number {
    return this.members.size;
  }

  has(jobId: string): boolean {
    return this.members.has(jobId);
  }

  push(job: Job): void {
    if (this.members.has(job.id)) return;
    this.members.add(job.id);
    this.heap.push(job);
    this.siftUp(this.heap.length - 1);
  }

  remove(jobId: string): boolean {
    return this.members.delete(jobId);
  }

  peek(): Job | undefined {
    this.dropStale();
    return this.heap[0];
  }

  pop(): Job | undefined {
    this.dropStale();
    const top = this.heap[0];
    if (top === undefined) return undefined;
    this.removeTop();
    this.members.delete(top.id);
    return top;
  }

  private dropStale(): void {
    for (let top = this.heap[0]; top !== undefined && !this.members.has(top.id); top = this.heap[0]) {
      this.removeTop();
    }
  }

  private removeTop(): void {
    const last = this.heap.pop();
    if (last !== undefined && this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const a = heap[i] as Job;
      const b = heap[parent] as Job;
      if (!before(a, b)) break;
      heap[i] = b;
      heap[parent] = a;
      i = parent;
    }
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    const n = heap.length;
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let best = i;
      if (left < n && before(heap[left] as Job, heap[best] as Job)) best = left;
      if (right < n && before(heap[right] as Job, heap[best] as Job)) best = right;
      if (best === i) return;
      const tmp = heap[i] as Job;
      heap[i] = heap[best] as Job;
      heap[best] = tmp;
      i = best;
    }
  }
}
