import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AuditEntry, AuditRecord, AuditVerdict } from '../protocol/audit-views.js';
import { isPromise, type LedgerRow, type LedgerRows, type LedgerStart } from './security-rows.js';

export type { AuditEntry, AuditRecord, AuditVerdict } from '../protocol/audit-views.js';

const GENESIS = '0'.repeat(64);
/** Rows `verify` reads per query. */
const VERIFY_PAGE = 5_000;

/** What the ledger is opened with: where the chain stands, and the head sealed by the last writer. */
export interface LedgerOpen extends LedgerStart {
  readonly sealedHead: string | undefined;
}

/** Loads where the chain stands (synchronously from SQLite). */
export function openLedgerState(store: LedgerRows): LedgerOpen | Promise<LedgerOpen> {
  const start = store.start();
  const sealed = store.sealedHead();
  if (!isPromise(start) && !isPromise(sealed)) return { ...start, sealedHead: sealed };
  return Promise.all([start, sealed]).then(([s, sealedHead]) => ({ ...s, sealedHead }));
}
/** The chain's last seq and hash, and how many rows it has: what is compared from outside the data dir. */
export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
  readonly rows: number;
}

/** The action of the row a master writes when it finds the ledger cut or wiped at start. */
export const TAMPERED = 'AUDIT_TAMPERED';
const FIELD_LIMIT = 2000;

/**
 * Bounds a field and escapes control characters and lone surrogates: SQLite stores UTF-8 text
 * and hands a NUL-bearing or ill-formed string back changed, which would break the row's hash.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const NEEDS_ESCAPE = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/;

function clip(value: string): string {
  const bounded = value.length > FIELD_LIMIT ? `${value.slice(0, FIELD_LIMIT)}…` : value;
  // The cheap test first: almost every field is plain text.
  if (!NEEDS_ESCAPE.test(bounded)) return bounded;
  return bounded.replace(/[\p{Cc}\p{Cs}]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The append-only, hash-chained audit ledger (table `audit_log`). Each row's hash is an HMAC,
 * under a key kept outside the database (the data dir's `audit.key`), of the previous row's
 * hash and the row itself; the last row's seq and hash are sealed the same way in `meta`. So
 * editing, deleting or inserting a row, or cutting the tail, breaks the chain, and someone with
 * only the database file cannot rebuild it.
 *
 * The chain's head lives in memory; rows are written in batches, one transaction each, through
 * `LedgerRows`. On SQLite a batch has committed when the call returns (or it throws); on
 * PostgreSQL one batch is in flight at a time and the next is chained only once it committed,
 * so a batch that fails (E_FENCED, a lost connection) leaves no hole for later rows to hang on.
 */
export class AuditLedger {
  /** The committed chain's last seq and hash and its row count (the ledger is never pruned). */
  private committed: AuditHead;
  private pending: AuditEntry[] = [];
  /** Settles when the rows in `pending` have been written. */
  private pendingWritten: Deferred | null = null;
  private inFlight: Promise<void> | null = null;
  private flushTimer: NodeJS.Immediate | null = null;

  constructor(
    private readonly store: LedgerRows,
    private readonly start: LedgerOpen,
    private readonly key: Buffer,
    /** Where a failed background write is reported (it cannot be thrown at anyone). */
    private readonly onFlushError: (err: unknown) => void = () => undefined,
  ) {
    this.committed = { seq: start.highestSeq, hash: start.last?.hash ?? GENESIS, rows: start.rows };
  }

  /**
   * Appends one row after the rows queued before it. SQLite: written when this returns, or it
   * throws. PostgreSQL: returns the promise of its commit.
   */
  append(entry: AuditEntry): Promise<void> | undefined {
    this.clearTimer();
    const written = this.queue(entry);
    this.drain();
    return this.inFlight === null ? undefined : written;
  }

  /**
   * Queues a row and writes every row queued in this turn of the event loop in one transaction
   * (the master's request path: one commit per turn, not per request). Reads flush first.
   */
  enqueue(entry: AuditEntry): void {
    void this.queue(entry);
    if (this.flushTimer !== null) return;
    this.flushTimer = setImmediate(() => {
      this.flushTimer = null;
      this.drainQuietly();
    });
  }

  /**
   * Writes the queued rows: on SQLite now (throwing when it cannot); on PostgreSQL it returns a
   * promise that settles once every row queued so far is written or has failed (failures go to
   * `onFlushError`).
   */
  flush(): Promise<void> | undefined {
    this.clearTimer();
    this.drain();
    return this.inFlight === null ? undefined : this.settled();
  }

  private async settled(): Promise<void> {
    while (this.inFlight !== null) await this.inFlight;
  }

  private queue(entry: AuditEntry): Promise<void> {
    this.pending.push(entry);
    this.pendingWritten ??= deferred();
    return this.pendingWritten.promise;
  }

  private clearTimer(): void {
    if (this.flushTimer !== null) clearImmediate(this.flushTimer);
    this.flushTimer = null;
  }

  private drainQuietly(): void {
    try {
      this.drain();
    } catch (err) {
      this.onFlushError(err);
    }
  }

  /** Writes the queued rows as one batch, unless a batch is in flight (its end drains again). */
  private drain(): void {
    if (this.inFlight !== null || this.pending.length === 0) return;
    const batch = this.pending;
    const written = this.pendingWritten!;
    this.pending = [];
    this.pendingWritten = null;
    const { rows, head } = this.chain(batch);
    let result: Promise<void> | void;
    try {
      result = this.store.append(rows, this.headSeal(head.seq, head.hash));
    } catch (err) {
      written.reject(err);
      throw err;
    }
    if (!isPromise(result)) {
      this.committed = head;
      written.resolve();
      return;
    }
    this.inFlight = result
      .then(
        () => {
          this.committed = head;
          written.resolve();
        },
        async (err: unknown) => {
          this.onFlushError(err);
          written.reject(err);
          await this.reloadHead();
        },
      )
      .finally(() => {
        this.inFlight = null;
        this.drainQuietly();
      });
  }

  /**
   * After a failed commit the head is read back: a connection lost while COMMIT was under way
   * may have committed the batch after all, and the next one must chain on what is there.
   */
  private async reloadHead(): Promise<void> {
    try {
      const start = await this.store.start();
      this.committed = { seq: start.highestSeq, hash: start.last?.hash ?? GENESIS, rows: start.rows };
    } catch (err) {
      this.onFlushError(err);
    }
  }

  /** The batch's rows, chained on the committed head, and the head they make. */
  private chain(entries: readonly AuditEntry[]): { rows: LedgerRow[]; head: AuditHead } {
    let { seq, hash } = this.committed;
    const rows = entries.map((entry): LedgerRow => {
      const fields = {
        at: entry.at,
        who: clip(entry.who),
        role: clip(entry.role),
        action: clip(entry.action),
        target: clip(entry.target),
        source: clip(entry.source),
        result: clip(entry.result),
        prev_hash: hash,
      };
      seq++;
      hash = this.rowHash(seq, fields);
      return { ...fields, seq, hash };
    });
    return { rows, head: { seq, hash, rows: this.committed.rows + rows.length } };
  }

  /** Called before the ledger is read, so rows held back elsewhere (grouped refusals) are in it. */
  beforeRead: () => void = () => undefined;

  /** Newest first. */
  async recent(limit: number): Promise<AuditRecord[]> {
    this.beforeRead();
    await this.flush();
    return (await this.store.recent(limit)).map(toRecord);
  }

  /**
   * The chain's head: its last seq and hash (GENESIS and 0 when empty) and how many rows it has,
   * for logs and /metrics, so that it can be compared from outside the data dir. What has
   * committed: on PostgreSQL a batch still in flight is not in it yet.
   */
  head(): AuditHead {
    void this.flush();
    return this.committed;
  }

  /**
   * Checked at start, before anything is appended (which would re-seal the head over whatever is
   * there): does the sealed head still match the last row? A cut tail, or every row deleted, says
   * no; so does an empty ledger whose key is older than this start (the head went with the rows).
   */
  checkSealAtStart(keyExistedBefore: boolean): string | null {
    const { last, sealedHead: head } = this.start;
    if (last === undefined) {
      if (head !== undefined) return 'every row of the audit ledger was deleted while the master was stopped (the sealed head names rows that are gone)';
      return keyExistedBefore
        ? 'the audit ledger is empty but its key is older than this start: its rows and sealed head were deleted while the master was stopped'
        : null;
    }
    if (head === undefined || !sameHex(head, this.headSeal(last.seq, last.hash))) {
      return `the audit ledger's sealed head does not match its last row (${last.seq}): rows after it were deleted while the master was stopped, or the head was edited`;
    }
    return null;
  }

  /** Walks the whole chain from the first row, a page at a time; names the first row that does not fit. */
  async verify(): Promise<AuditVerdict> {
    this.beforeRead();
    await this.flush();
    let prev = GENESIS;
    let expectedSeq: number | null = null;
    let rows = 0;
    let last: LedgerRow | undefined;
    for (let page = await this.store.page(0, VERIFY_PAGE); page.length > 0; page = await this.store.page(last!.seq, VERIFY_PAGE)) {
      for (const row of page) {
        rows++;
        if (expectedSeq !== null && row.seq !== expectedSeq) {
          return { ok: false, rows, seq: row.seq, problem: `rows ${expectedSeq}..${row.seq - 1} are missing (deleted)` };
        }
        if (row.prev_hash !== prev)
          return { ok: false, rows, seq: row.seq, problem: `row ${row.seq} does not follow the row before it (a row was deleted or inserted)` };
        if (!sameHex(this.rowHash(row.seq, row), row.hash))
          return { ok: false, rows, seq: row.seq, problem: `row ${row.seq} was edited: its hash does not match its contents` };
        // A break found at a start stays a finding: the chain was re-sealed after it, not repaired.
        if (row.action === TAMPERED && row.who === 'master')
          return { ok: false, rows, seq: row.seq, problem: `at row ${row.seq} the master found the ledger cut: ${row.result}` };
        prev = row.hash;
        expectedSeq = row.seq + 1;
        last = row;
      }
    }
    const head = await this.store.sealedHead();
    if (last === undefined) {
      return head === undefined
        ? { ok: true, rows: 0, head: GENESIS }
        : { ok: false, rows: 0, seq: null, problem: 'the ledger is empty but its sealed head says rows were written (all were deleted)' };
    }
    if (head === undefined || !sameHex(head, this.headSeal(last.seq, last.hash))) {
      return { ok: false, rows, seq: last.seq, problem: `the sealed head does not match row ${last.seq}: rows after it were deleted, or the head was edited` };
    }
    return { ok: true, rows, head: last.hash };
  }

  private rowHash(seq: number, row: Omit<LedgerRow, 'seq' | 'hash'>): string {
    const fields = [seq, row.at, row.who, row.role, row.action, row.target, row.source, row.result].map((f) => JSON.stringify(f)).join('|');
    return createHmac('sha256', this.key).update(row.prev_hash).update('|').update(fields).digest('hex');
  }

  private headSeal(seq: number, hash: string): string {
    return createHmac('sha256', this.key).update(`head|${seq}|${hash}`).digest('hex');
  }
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Rows only enqueued have no one awaiting them: their failure is reported through onFlushError.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

function toRecord(row: LedgerRow): AuditRecord {
  return {
    seq: row.seq,
    at: row.at,
    who: row.who,
    role: row.role,
    action: row.action,
    target: row.target,
    source: row.source,
    result: row.result,
    hash: row.hash,
  };
}
