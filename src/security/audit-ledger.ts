import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import type { AuditEntry, AuditRecord, AuditVerdict } from '../protocol/audit-views.js';

export type { AuditEntry, AuditRecord, AuditVerdict } from '../protocol/audit-views.js';

interface Row {
  seq: number;
  at: number;
  who: string;
  role: string;
  action: string;
  target: string;
  source: string;
  result: string;
  prev_hash: string;
  hash: string;
}

const GENESIS = '0'.repeat(64);
const HEAD_KEY = 'audit.head';
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
 */
export class AuditLedger {
  private readonly insert: Statement;
  private readonly nextSeq: Statement<[], number>;
  private readonly selectLast: Statement<[], Row>;
  private readonly selectRecent: Statement<[number], Row>;
  private readonly selectAll: Statement<[], Row>;
  private readonly writeHead: Statement;
  private readonly readHead: Statement<[string], string>;
  private readonly appendTx: (entries: readonly AuditEntry[]) => AuditRecord[];
  private lastHash: string;
  /** The highest seq ever handed out (sqlite_sequence), kept in memory so an append needs no query. */
  private lastSeq: number;
  /** Rows in the table: counted once at open, then kept with each append (the ledger is never pruned). */
  private rows: number;
  private pending: AuditEntry[] = [];
  private flushTimer: NodeJS.Immediate | null = null;

  constructor(
    db: Database,
    private readonly key: Buffer,
    /** Where a failed background write is reported (it cannot be thrown at anyone). */
    private readonly onFlushError: (err: unknown) => void = () => undefined,
  ) {
    this.insert = db.prepare(
      'INSERT INTO audit_log (seq, at, who, role, action, target, source, result, prev_hash, hash) VALUES (@seq, @at, @who, @role, @action, @target, @source, @result, @prev_hash, @hash)',
    );
    this.nextSeq = db.prepare<[], number>("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'), 0)").pluck();
    this.selectLast = db.prepare<[], Row>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.selectRecent = db.prepare<[number], Row>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?');
    this.selectAll = db.prepare<[], Row>('SELECT * FROM audit_log ORDER BY seq');
    this.writeHead = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.readHead = db.prepare<[string], string>('SELECT value FROM meta WHERE key = ?').pluck();
    this.lastHash = this.selectLast.get()?.hash ?? GENESIS;
    this.lastSeq = this.nextSeq.get() ?? 0;
    this.rows = db.prepare<[], number>('SELECT COUNT(*) FROM audit_log').pluck().get() ?? 0;
    this.appendTx = db.transaction((entries: readonly AuditEntry[]): AuditRecord[] => {
      const records = entries.map((entry) => this.appendOne(entry));
      const last = records[records.length - 1];
      // The head is sealed once per transaction: the rows before it in the batch are covered by the chain.
      if (last !== undefined) this.writeHead.run(HEAD_KEY, this.headSeal(last.seq, last.hash));
      return records;
    });
  }

  private appendOne(entry: AuditEntry): AuditRecord {
    {
      const fields = {
        at: entry.at,
        who: clip(entry.who),
        role: clip(entry.role),
        action: clip(entry.action),
        target: clip(entry.target),
        source: clip(entry.source),
        result: clip(entry.result),
        prev_hash: this.lastHash,
      };
      // sqlite_sequence remembers the highest seq ever handed out, so a deleted tail is never reused.
      const seq = this.lastSeq + 1;
      const hash = this.rowHash(seq, fields);
      const row = { ...fields, seq, hash };
      this.insert.run(row);
      this.lastHash = hash;
      this.lastSeq = seq;
      this.rows++;
      return toRecord(row);
    }
  }

  /** Appends one row now, after the rows queued before it, in one transaction; throws when SQLite refuses. */
  append(entry: AuditEntry): AuditRecord {
    if (this.flushTimer !== null) clearImmediate(this.flushTimer);
    this.flushTimer = null;
    const batch = [...this.pending, entry];
    this.pending = [];
    const records = this.write(batch);
    return records[records.length - 1]!;
  }

  /** One transaction; on failure the chain's head in memory goes back to what SQLite kept. */
  private write(entries: readonly AuditEntry[]): AuditRecord[] {
    const head = this.lastHash;
    const seq = this.lastSeq;
    const rows = this.rows;
    try {
      return this.appendTx(entries);
    } catch (err) {
      this.lastHash = head;
      this.lastSeq = seq;
      this.rows = rows;
      throw err;
    }
  }

  /**
   * Queues a row and writes every row queued in this turn of the event loop in one transaction
   * (the master's request path: one commit per turn, not per request). Reads flush first.
   */
  enqueue(entry: AuditEntry): void {
    this.pending.push(entry);
    if (this.flushTimer !== null) return;
    this.flushTimer = setImmediate(() => {
      try {
        this.flush();
      } catch (err) {
        this.onFlushError(err);
      }
    });
  }

  flush(): void {
    if (this.flushTimer !== null) clearImmediate(this.flushTimer);
    this.flushTimer = null;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.write(batch);
  }

  /** Newest first. */
  /** Called before the ledger is read, so rows held back elsewhere (grouped refusals) are in it. */
  beforeRead: () => void = () => undefined;

  recent(limit: number): AuditRecord[] {
    this.beforeRead();
    this.flush();
    return this.selectRecent.all(limit).map(toRecord);
  }

  /**
   * The chain's head: its last seq and hash (GENESIS and 0 when empty) and how many rows it has,
   * for logs and /metrics, so that it can be compared from outside the data dir.
   */
  head(): AuditHead {
    this.flush();
    return { seq: this.lastSeq, hash: this.lastHash, rows: this.rows };
  }

  /**
   * Checked at start, before anything is appended (which would re-seal the head over whatever is
   * there): does the sealed head still match the last row? A cut tail, or every row deleted, says
   * no; so does an empty ledger whose key is older than this start (the head went with the rows).
   */
  checkSealAtStart(keyExistedBefore: boolean): string | null {
    const last = this.selectLast.get();
    const head = this.readHead.get(HEAD_KEY);
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

  /** Walks the whole chain from the first row; names the first row that does not fit. */
  verify(): AuditVerdict {
    this.beforeRead();
    this.flush();
    let prev = GENESIS;
    let expectedSeq: number | null = null;
    let rows = 0;
    let last: Row | undefined;
    for (const row of this.selectAll.iterate()) {
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
    const head = this.readHead.get(HEAD_KEY);
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

  private rowHash(seq: number, row: Omit<Row, 'seq' | 'hash'>): string {
    const fields = [seq, row.at, row.who, row.role, row.action, row.target, row.source, row.result].map((f) => JSON.stringify(f)).join('|');
    return createHmac('sha256', this.key).update(row.prev_hash).update('|').update(fields).digest('hex');
  }

  private headSeal(seq: number, hash: string): string {
    return createHmac('sha256', this.key).update(`head|${seq}|${hash}`).digest('hex');
  }
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

function toRecord(row: Row): AuditRecord {
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
