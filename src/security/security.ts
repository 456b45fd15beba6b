import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../common/log.js';
import { ErrorCode, isDiskFull, storeFullError, TitanError } from '../common/errors.js';
import { AUDIT_KEY_FILE, JOB_TOKEN_KEY_FILE, loadSecurityKey } from './security-keys.js';
import { AuditLedger, openLedgerState, TAMPERED, type AuditEntry, type LedgerOpen } from './audit-ledger.js';
import { RefusalRows, addressOf } from './refusal-rows.js';
import type { Job } from '../core/job.js';
import { JobTokens, looksLikeJobToken } from './job-tokens.js';
import { can, inNamespace, jobIdentity, type Identity } from './policy.js';
import type { Requirement } from './opcode-permissions.js';
import { RateLimiter, type RateDecision, type RateLimit } from './rate-limiter.js';

/** Refusals of one (who, source address, reason) within this long share a ledger row. */
export const REFUSAL_WINDOW_MS = 10_000;
/** Failed authentications a source address may make per window before it is answered E_RATE_LIMITED. */
export const FAILED_AUTH_LIMIT: RateLimit = { requests: 30, windowMs: REFUSAL_WINDOW_MS };
/** Protocol v1 requests per source address: 1,000 a second sustained, far above what the original's scripts do. */
export const LEGACY_RATE_LIMIT: RateLimit = { requests: 10_000, windowMs: REFUSAL_WINDOW_MS };
/** The identity name of protocol v1 clients (master/legacy/admit.ts). */
const LEGACY_IDENTITY = 'legacy-v1';
import { looksLikeApiToken, TokenStore, type TokenView, type Written } from './token-store.js';
import { tokensMatch } from './token-compare.js';
import { immediate, type SecurityRows, type TokenRow } from './security-rows.js';
import { SqliteSecurityRows } from './sqlite-security-rows.js';
import { PendingWrites, type Committing } from './pending-writes.js';

/** Security's rows and what was read of them at open (`Security.open` loads them from any store). */
export interface OpenedSecurityRows {
  readonly rows: SecurityRows;
  readonly tokens: readonly TokenRow[];
  readonly ledger: LedgerOpen;
}

export interface SecurityOptions {
  readonly dataDir: string;
  readonly clusterToken: string;
  /** Per API token; null turns rate limiting off. */
  readonly rateLimit: RateLimit | null;
  /** Most unfinished jobs each namespace may have at once. */
  readonly namespaceQuotas: ReadonlyMap<string, number>;
  /**
   * Whether the audit key has sealed this ledger before, so an empty ledger means a wiped one. By
   * default: whether the key file existed before this start. Masters sharing a PostgreSQL store
   * copy the key before their first start, so they ask the store instead (cli/shared-secrets.ts).
   */
  readonly auditKeyUsedBefore?: boolean;
}

/** Over the rate limit: carries when to come back (HTTP sends it as Retry-After). */
export class RateLimitedError extends TitanError {
  constructor(
    readonly retryAfterMs: number,
    message: string,
  ) {
    super(ErrorCode.RATE_LIMITED, message);
  }
}

export const CLUSTER_IDENTITY: Identity = { kind: 'cluster', name: 'cluster', role: 'admin', mayActAsWorker: true };

function tokenIdentity(view: TokenView): Identity {
  return {
    kind: 'token',
    name: view.name,
    tokenId: view.id,
    role: view.role,
    ...(view.namespace !== null ? { namespace: view.namespace } : {}),
    mayActAsWorker: false,
  };
}

/**
 * The master's security shell: authenticates secrets into identities, asks the pure policy
 * (`can`), counts requests per token, and writes the audit ledger. Its rows live behind
 * `SecurityRows`: by default on a connection of its own to the master's SQLite file (the tables
 * come from migration 6), or on PostgreSQL when the composition root opens it with
 * `Security.open(options, log, new PgSecurityRows(store))`. Authentication reads memory only; a
 * write to PostgreSQL commits asynchronously, and the reply it concerns waits for it (`settled`).
 */
export class Security {
  readonly tokens: TokenStore;
  readonly audit: AuditLedger;
  private readonly rows: SecurityRows;
  /** Ledger rows a reply depends on and token changes, begun on PostgreSQL and not committed yet. */
  private readonly pending = new PendingWrites();
  private readonly limiter: RateLimiter | null;
  private readonly revokeListeners = new Set<(tokenId: string) => void>();
  private readonly sweep: NodeJS.Timeout;
  /** Failed authentications per source address. */
  private readonly failedBySource = new RateLimiter(FAILED_AUTH_LIMIT);
  /** Protocol v1 requests per source address. */
  private readonly legacyLimiter = new RateLimiter(LEGACY_RATE_LIMIT);
  private readonly refusals: RefusalRows;
  private readonly jobTokens: JobTokens;
  /** How the master's live jobs are found; until the master attaches it, no job token is valid. */
  private liveJob: (id: string) => Job | undefined = () => undefined;

  /**
   * Security on `rows` (PostgreSQL's, say): tokens and the ledger's head are read first, so
   * authentication never waits for the database.
   */
  static async open(options: SecurityOptions, log: Logger, rows: SecurityRows): Promise<Security> {
    const [tokens, ledger] = await Promise.all([rows.tokens.all(), openLedgerState(rows.ledger)]);
    return new Security(options, log, { rows, tokens, ledger });
  }

  /** Without `opened`: on the master's SQLite file in `options.dataDir`, read synchronously. */
  constructor(
    private readonly options: SecurityOptions,
    private readonly log: Logger,
    opened: OpenedSecurityRows = openSqliteSecurityRows(join(options.dataDir, 'titan.db')),
  ) {
    this.rows = opened.rows;
    const keyExistedBefore = options.auditKeyUsedBefore ?? existsSync(join(options.dataDir, AUDIT_KEY_FILE));
    const key = loadSecurityKey(options.dataDir, AUDIT_KEY_FILE);
    this.tokens = new TokenStore(opened.rows.tokens, opened.tokens, (err) => log.warn({ err }, "could not write a token's last use"));
    this.jobTokens = new JobTokens(Buffer.from(loadSecurityKey(options.dataDir, JOB_TOKEN_KEY_FILE), 'hex'));
    this.audit = new AuditLedger(opened.rows.ledger, opened.ledger, Buffer.from(key, 'hex'), (err) => log.error({ err }, 'could not write the audit ledger'));
    const breach = this.audit.checkSealAtStart(keyExistedBefore);
    if (breach !== null) {
      log.error({ breach }, `AUDIT LEDGER TAMPERED: ${breach}; \`titan audit verify\` reports it from now on`);
      this.recordSystem(TAMPERED, breach);
    }
    this.limiter = options.rateLimit === null ? null : new RateLimiter(options.rateLimit);
    this.refusals = new RefusalRows(REFUSAL_WINDOW_MS, (entry) => this.audit.enqueue(entry));
    // Whoever reads the ledger sees the refusals of the windows still open, counted.
    this.audit.beforeRead = () => this.refusals.sweep(Date.now(), true);
    this.sweep = setInterval(() => {
      const now = Date.now();
      this.limiter?.sweep(now);
      this.failedBySource.sweep(now);
      this.legacyLimiter.sweep(now);
      this.refusals.sweep(now);
    }, REFUSAL_WINDOW_MS);
    this.sweep.unref();
    this.logHead('audit ledger head at open');
  }

  /** On SQLite everything is written and closed when this returns; on PostgreSQL once it resolves. */
  async close(): Promise<void> {
    clearInterval(this.sweep);
    this.refusals.sweep(Date.now(), true);
    const flushed = this.flushAudit();
    if (flushed !== undefined) await flushed;
    this.logHead('audit ledger head at close');
    this.rows.close();
  }

  /**
   * Undefined when every write a reply may depend on has committed (always on SQLite, where
   * writes are synchronous); otherwise a promise that resolves once the writes begun so far
   * have, or rejects with the first one's failure (E_FENCED for a deposed leader).
   */
  settled(): Promise<void> | undefined {
    return this.pending.settled();
  }

  private track(written: Written, what: string): void {
    this.pending.track(written, (err) => writeFailed(err, what, this.options.dataDir));
  }

  /**
   * The head goes to the log, outside the data dir: the head at one close must be the head at the
   * next open, so a ledger cut or rebuilt in between (even with the key, which re-seals it) shows.
   */
  private logHead(msg: string): void {
    try {
      const head = this.audit.head();
      this.log.info({ auditHeadSeq: head.seq, auditHeadHash: head.hash, auditRows: head.rows }, msg);
    } catch (err) {
      this.log.error({ err }, 'could not read the audit ledger head');
    }
  }

  /** Why a secret that `identify` refused was refused, in words that name the fix. */
  refusal(secret: string | undefined): string {
    if (secret === undefined)
      return 'missing token: send "Authorization: Bearer <token>" with an API token (titan token create) or the cluster token (titan up prints it)';
    const expired = looksLikeApiToken(secret) ? this.tokens.expired(secret, Date.now()) : undefined;
    if (expired !== undefined) {
      return `token ${expired.name} expired at ${new Date(expired.expiresAt!).toISOString()}: ask an admin for a new one (\`titan token create --name ${expired.name} --role ${expired.role} --ttl <duration>\`)`;
    }
    if (looksLikeJobToken(secret))
      return "this job token is not valid (any more): a job's token works only while that attempt of the job runs, and only for its submitter's live token";
    return 'bad cluster token or API token: use the cluster token printed by `titan up` (stored in the data dir file `token`) or an API token from `titan token create`';
  }

  /** Lets job tokens be checked against the jobs the master is running. */
  attachJobs(liveJob: (id: string) => Job | undefined): void {
    this.liveJob = liveJob;
  }

  /** The token a dispatched attempt runs with (its TITAN_TOKEN). */
  jobToken(jobId: string, attempt: number): string {
    return this.jobTokens.mint(jobId, attempt);
  }

  /**
   * The identity a secret proves, or undefined. The cluster token is admin (backward
   * compatibility) and the only worker credential; a job token is its job's, while it runs.
   */
  identify(secret: string): Identity | undefined {
    if (looksLikeJobToken(secret)) {
      const claim = this.jobTokens.verify(secret);
      const job = claim === undefined ? undefined : this.runningAttempt(claim.jobId, claim.attempt);
      if (claim === undefined || job === undefined) return undefined;
      const owner = job.spec.owner;
      return owner?.tokenId !== undefined && !this.tokens.isLive(owner.tokenId, Date.now()) ? undefined : jobIdentity(claim.jobId, claim.attempt, owner);
    }
    if (looksLikeApiToken(secret)) {
      const view = this.tokens.verify(secret, Date.now());
      return view === undefined ? undefined : tokenIdentity(view);
    }
    return tokensMatch(this.options.clusterToken, secret) ? CLUSTER_IDENTITY : undefined;
  }

  /**
   * False once the identity's token is revoked, or, for a job's token, once that attempt is over
   * (or its submitter's token is revoked); sessions ask before every request.
   */
  isCurrent(identity: Identity): boolean {
    if (identity.tokenId !== undefined && !this.tokens.isLive(identity.tokenId, Date.now())) return false;
    return identity.job === undefined || this.runningAttempt(identity.job.id, identity.job.attempt) !== undefined;
  }

  private runningAttempt(jobId: string, attempt: number): Job | undefined {
    const job = this.liveJob(jobId);
    return job !== undefined && job.attempt === attempt && (job.state === 'assigned' || job.state === 'running') ? job : undefined;
  }

  /**
   * Throws FORBIDDEN (recorded in the ledger) when the role or namespace does not allow it. Alone
   * (no rate charged) for a request already admitted whose needs are known only once it is read:
   * PIPELINE_SUBMIT, once its jobs are parsed.
   */
  authorize(identity: Identity, requirement: Requirement, action: string, source: string): void {
    const decision = can(identity, requirement.action, requirement.resource);
    if (!decision.allowed) {
      this.refusals.add(this.entry(identity, action, targetOf(requirement), source, `denied: ${decision.reason}`), Date.now());
      throw new TitanError(ErrorCode.FORBIDDEN, `${action} refused for ${identity.name}: ${decision.reason}`);
    }
  }

  /**
   * Lets a request through, or throws: FORBIDDEN (recorded in the ledger) when the role or
   * namespace does not allow it, RATE_LIMITED when the token is over its rate.
   */
  admit(identity: Identity, requirement: Requirement, action: string, source: string): void {
    this.authorize(identity, requirement, action, source);
    if (this.limiter !== null && identity.name === LEGACY_IDENTITY && identity.tokenId === undefined && identity.kind === 'token') {
      // Every v1 client is legacy-v1 and the original SDK opens a connection per request: a
      // budget per source address that an ordinary script never meets, which still ends a flood.
      const rate = this.legacyLimiter.take(addressOf(source), Date.now());
      if (!rate.allowed)
        throw new RateLimitedError(
          rate.retryAfterMs,
          `rate limit: protocol v1 clients from ${addressOf(source)} may make ${LEGACY_RATE_LIMIT.requests} requests per ${LEGACY_RATE_LIMIT.windowMs / 1000} s; retry after ${(rate.retryAfterMs / 1000).toFixed(1)} s (retryAfterMs=${rate.retryAfterMs})`,
        );
      return;
    }
    // A job counts against its submitter's token, so a limited client cannot launder requests
    // through jobs; jobs of the cluster token are exempt, as the cluster token is.
    if (this.limiter === null || identity.kind === 'cluster' || (identity.kind === 'job' && identity.tokenId === undefined)) return;
    const rate = this.limiter.take(identity.tokenId ?? `${identity.kind}:${identity.name}`, Date.now());
    if (!rate.allowed) {
      const { requests, windowMs } = this.limiter.limit;
      throw new RateLimitedError(
        rate.retryAfterMs,
        `rate limit: token ${identity.name} may make ${requests} requests per ${windowMs / 1000} s; retry after ${(rate.retryAfterMs / 1000).toFixed(1)} s (retryAfterMs=${rate.retryAfterMs})`,
      );
    }
  }

  /**
   * Refuses a submission that would take a namespace over its quota of unfinished jobs.
   * `active` counts the namespace's jobs that are not final yet.
   */
  checkQuota(identity: Identity, adding: number, activeIds: Iterable<string>): void {
    if (identity.namespace === undefined) return;
    const quota = this.options.namespaceQuotas.get(identity.namespace);
    if (quota === undefined) return;
    let active = 0;
    for (const id of activeIds) if (inNamespace(identity, id)) active++;
    if (active + adding > quota) {
      throw new TitanError(
        ErrorCode.QUOTA_EXCEEDED,
        `namespace ${identity.namespace} may have ${quota} unfinished jobs; it has ${active} and this adds ${adding}: wait for some to finish or cancel them`,
      );
    }
  }

  /**
   * The first of a change's two ledger rows (result `received`), written before the request does
   * anything, so no change can land without a row, even if the master is killed the next moment.
   * Fails closed, as Nomad's audit log does: a request whose row cannot be written is refused.
   * The second row, with the outcome, is `record`ed when the answer goes out.
   */
  receive(identity: Identity, action: string, target: string, source: string): void {
    try {
      this.track(this.audit.append(this.entry(identity, action, target, source, 'received')), `the audit ledger row of ${action}`);
    } catch (err) {
      this.log.error({ err }, 'could not write the audit ledger; refusing the request');
      // A full disk is the operator's to fix and passes by itself: the same answer as the store gives.
      if (isDiskFull(err)) throw storeFullError(this.options.dataDir);
      throw new TitanError(
        ErrorCode.INTERNAL,
        `${action} refused: the audit ledger could not be written (${(err as Error).message}); check the master's disk and data dir`,
      );
    }
  }

  /**
   * A request whose token proved nothing: one aggregated ledger row per source and window, and a
   * budget of failures per source address. Over it, the caller answers E_RATE_LIMITED (HTTP 429)
   * before anything else is checked, so a flood costs a map lookup, not a row.
   */
  refuseUnauthenticated(action: string, source: string, reason = 'bad token'): RateDecision {
    const now = Date.now();
    this.refusals.add(this.entry(null, action, '', source, `denied: ${reason}`), now);
    return this.failedBySource.take(addressOf(source), now);
  }

  /**
   * The outcome row, queued. Returns `settled()` as it was before the row: the reply it audits
   * waits for it (audited-reply.ts), so no answer goes out before its `received` row, or a token
   * change it reports, has committed.
   */
  record(identity: Identity | null, action: string, target: string, source: string, result: string): Committing | undefined {
    const before = this.pending.committing();
    this.audit.enqueue(this.entry(identity, action, target, source, result));
    return before;
  }

  private entry(identity: Identity | null, action: string, target: string, source: string, result: string): AuditEntry {
    return { at: Date.now(), who: identity?.name ?? 'anonymous', role: identity?.role ?? '-', action, target, source, result };
  }

  /** A row for the master's own lifecycle (start, stop), written at once. */
  recordSystem(action: string, detail: string): void {
    this.audit.enqueue(this.entry({ kind: 'cluster', name: 'master', role: 'admin', mayActAsWorker: false }, action, '', `pid ${process.pid}`, detail));
    void this.flushAudit();
  }

  /**
   * Writes the queued ledger rows (on PostgreSQL: starts to, and returns when they are written);
   * a failure is logged loudly (the requests already happened), never thrown at a caller.
   */
  flushAudit(): Promise<void> | undefined {
    try {
      return this.audit.flush();
    } catch (err) {
      this.log.error({ err }, 'could not write the audit ledger');
      return undefined;
    }
  }

  /** `ttlSeconds`: the token expires that long after now (absent: never). */
  createToken(input: { name: string; role: string; namespace?: string | undefined; ttlSeconds?: number | undefined }): { token: string; view: TokenView } {
    const { ttlSeconds, ...rest } = input;
    const { token, view, written } = this.tokens.create({ ...rest, ...(ttlSeconds !== undefined ? { ttlMs: ttlSeconds * 1000 } : {}) }, Date.now());
    this.track(written, `token ${view.name}`);
    return { token, view };
  }

  revokeToken(idOrName: string): TokenView {
    const { view, written } = this.tokens.revoke(idOrName, Date.now());
    this.track(written, `the revocation of token ${view.name} (refused by this master from now on)`);
    for (const listener of this.revokeListeners) listener(view.id);
    return view;
  }

  /** Called with a token id right after it is revoked (the master closes its open connections). */
  onRevoke(listener: (tokenId: string) => void): void {
    this.revokeListeners.add(listener);
  }
}

/** Security's rows on a SQLite store file, read at once. */
export function openSqliteSecurityRows(file: string): OpenedSecurityRows {
  const rows = new SqliteSecurityRows(file);
  return { rows, tokens: immediate(rows.tokens.all()), ledger: immediate(openLedgerState(rows.ledger)) };
}

/** What a reply says when a write it depended on failed: E_FENCED as it is; anything else names the store. */
function writeFailed(err: unknown, what: string, dataDir: string): TitanError {
  if (err instanceof TitanError) return err;
  if (isDiskFull(err)) return storeFullError(dataDir);
  return new TitanError(ErrorCode.INTERNAL, `${what} could not be written (${(err as Error).message}); check the master's store`);
}

export function targetOf(requirement: Requirement): string {
  return requirement.resource.kind === 'cluster' ? '' : requirement.resource.ids.slice(0, 20).join(',');
}
