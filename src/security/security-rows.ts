/**
 * Where security's rows live, apart from what security decides with them: API tokens and the
 * audit ledger's rows and sealed head. SQLite answers at once (`sqlite-security-rows.ts`: a value,
 * or a throw), PostgreSQL with promises (`pg-security-rows.ts`); the token store and the ledger
 * take either, so on SQLite they behave exactly as when they held the handle themselves.
 */
export type MaybePromise<T> = T | Promise<T>;

/** A row of `api_tokens`, as both stores have it. */
export interface TokenRow {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly namespace: string | null;
  /** sha256 of the whole token, hex. */
  readonly hash: string;
  readonly created_at: number;
  readonly revoked_at: number | null;
  readonly last_used_at: number | null;
  readonly expires_at: number | null;
}

/** One write of the token store, in one transaction: revocations first, then the new token. */
export interface TokenChange {
  readonly revoke: readonly { readonly id: string; readonly at: number }[];
  readonly insert?: TokenRow;
}

export interface TokenRows {
  all(): MaybePromise<TokenRow[]>;
  write(change: TokenChange): MaybePromise<void>;
  /** `last_used_at`, a hint for `titan token ls`. */
  touch(id: string, at: number): MaybePromise<void>;
}

/** A row of `audit_log`. */
export interface LedgerRow {
  readonly seq: number;
  readonly at: number;
  readonly who: string;
  readonly role: string;
  readonly action: string;
  readonly target: string;
  readonly source: string;
  readonly result: string;
  readonly prev_hash: string;
  readonly hash: string;
}

/** What the ledger needs to know at open to continue the chain. */
export interface LedgerStart {
  readonly last: LedgerRow | undefined;
  /** The highest seq ever handed out (a deleted tail's seqs are not reused where the store remembers them). */
  readonly highestSeq: number;
  readonly rows: number;
}

export interface LedgerRows {
  start(): MaybePromise<LedgerStart>;
  /** Appends the rows and replaces the sealed head, in one transaction: all of it lands or none. */
  append(rows: readonly LedgerRow[], seal: string): MaybePromise<void>;
  /** Newest first. */
  recent(limit: number): MaybePromise<LedgerRow[]>;
  /** Rows after `afterSeq`, oldest first: how `verify` walks a chain of any length. */
  page(afterSeq: number, limit: number): MaybePromise<LedgerRow[]>;
  sealedHead(): MaybePromise<string | undefined>;
}

/** Both, on one store. `close` lets go of what the rows own (the SQLite connection; never a shared pool). */
export interface SecurityRows {
  readonly tokens: TokenRows;
  readonly ledger: LedgerRows;
  close(): void;
}

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** A SQLite answer, which is never a promise. */
export function immediate<T>(value: MaybePromise<T>): T {
  if (isPromise(value)) throw new Error('expected a synchronous (SQLite) answer, got a promise');
  return value;
}
