// The audit ledger's rows and verdict as TITAN_PROTO replies carry them; plain data, apart from
// the SQLite ledger that writes them, so a client's types need no database.

/** One thing someone did, as the ledger keeps it. */
export interface AuditEntry {
  readonly at: number;
  /** Token name, "cluster", `<owner>/job:<id>` or "master"; "anonymous" for a refused authentication. */
  readonly who: string;
  readonly role: string;
  /** The operation, e.g. JOB_SUBMIT, AUTH, POST /api/v1/jobs. */
  readonly action: string;
  /** What it touched: job, DAG or key ids, a token name, or "" for the cluster. */
  readonly target: string;
  /** The caller's address. */
  readonly source: string;
  /** "received" (a change's first row), then "ok", "denied: …" or "error E_…". */
  readonly result: string;
}

export interface AuditRecord extends AuditEntry {
  readonly seq: number;
  readonly hash: string;
}

export type AuditVerdict =
  | { readonly ok: true; readonly rows: number; readonly head: string }
  | { readonly ok: false; readonly rows: number; readonly seq: number | null; readonly problem: string };
