/**
 * Refusals are written to the ledger once per (who, source address, reason, kind of request:
 * the action's first word) per window, not once
 * per request: the first refusal is a row at once, the rest of the window one more row that says
 * how many followed. A flood of bad tokens (issue 14: 9,413 rows and 40 MB in 10 s) costs two
 * rows per source and window instead, whatever routes or opcodes it varies.
 */
import type { AuditEntry } from './audit-ledger.js';

interface Window {
  readonly since: number;
  readonly first: AuditEntry;
  repeats: number;
}

/** `127.0.0.1:51234` → `127.0.0.1`; `[::1]:80` and `::1` → `::1`. */
export function addressOf(source: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(source);
  if (bracketed !== null) return bracketed[1]!;
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(source);
  return v4 !== null ? v4[1]! : source;
}

export class RefusalRows {
  private readonly open = new Map<string, Window>();

  constructor(
    readonly windowMs: number,
    private readonly write: (entry: AuditEntry) => void,
  ) {}

  add(entry: AuditEntry, now: number): void {
    // The action's first word (AUTH, GET, GRPC, V1…), not the whole action: varying the path must not make new rows.
    const key = `${entry.who}|${addressOf(entry.source)}|${entry.result}|${entry.action.split(' ')[0] ?? ''}`;
    const open = this.open.get(key);
    if (open !== undefined && now - open.since < this.windowMs) {
      open.repeats++;
      return;
    }
    if (open !== undefined) this.close(key, open, now);
    this.open.set(key, { since: now, first: entry, repeats: 0 });
    this.write(entry);
  }

  /** Writes the summaries of windows that have ended (all of them with `all`, at shutdown). */
  sweep(now: number, all = false): void {
    for (const [key, open] of this.open) if (all || now - open.since >= this.windowMs) this.close(key, open, now);
  }

  private close(key: string, open: Window, now: number): void {
    this.open.delete(key);
    if (open.repeats === 0) return;
    const seconds = Math.round((now - open.since) / 100) / 10;
    this.write({
      ...open.first,
      at: now,
      result: `${open.first.result} (repeated ${open.repeats} more times from ${addressOf(open.first.source)} within ${seconds} s; the first was ${open.first.action})`,
    });
  }
}
