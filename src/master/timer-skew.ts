/**
 * How late the master's delay timer fires against the due time it was armed for, kept for the
 * last `capacity` firings (a ring, so memory stays flat) and summarised for `titan stats`.
 */
export class TimerSkew {
  private readonly samples: number[] = [];
  private next = 0;
  private count = 0;

  constructor(private readonly capacity = 10_000) {}

  record(lateMs: number): void {
    this.count++;
    if (this.samples.length < this.capacity) this.samples.push(lateMs);
    else this.samples[this.next] = lateMs;
    this.next = (this.next + 1) % this.capacity;
  }

  summary(): { fired: number; lateMsP50: number | null; lateMsP99: number | null; lateMsMax: number | null } {
    if (this.samples.length === 0) return { fired: this.count, lateMsP50: null, lateMsP99: null, lateMsMax: null };
    const sorted = [...this.samples].sort((a, b) => a - b);
    const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
    return { fired: this.count, lateMsP50: at(50), lateMsP99: at(99), lateMsMax: sorted[sorted.length - 1] ?? null };
  }
}
