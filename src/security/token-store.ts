import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCode, TitanError } from '../common/errors.js';
import { NAMESPACE_PATTERN, ROLES, type Role } from './policy.js';
import { isPromise, type TokenChange, type TokenRow, type TokenRows } from './security-rows.js';

/** An API token as listed: never the secret, never its hash. */
export interface TokenView {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly namespace: string | null;
  readonly createdAt: number;
  readonly revokedAt: number | null;
  readonly lastUsedAt: number | null;
  /** When it stops working (created with a TTL), or null for never. */
  readonly expiresAt: number | null;
}

interface KnownToken {
  readonly view: TokenView;
  readonly hash: Buffer;
}

/** A write's outcome: undefined when it has committed already (SQLite), else the promise of its commit. */
export type Written = Promise<void> | undefined;

const PREFIX = 'titan_';
const ID_HEX = 12;
/** `titan_<12 hex id>_<43 base64url chars = 256 random bits>`. The id finds the row; the hash proves the rest. */
const TOKEN_PATTERN = /^titan_([a-f0-9]{12})_[A-Za-z0-9_-]{43}$/;
/** Names the audit ledger gives identities that are not API tokens, so no token may pass for one. */
const RESERVED_NAMES = new Set(['cluster', 'master', 'anonymous', 'legacy-v1']);
export const TOKEN_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** last_used_at is a hint for `titan token ls`: written at most this often per token, not on every request. */
const LAST_USED_EVERY_MS = 60_000;

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** True when the string has the shape of an API token (the cluster token does not). */
export function looksLikeApiToken(token: string): boolean {
  return token.startsWith(PREFIX);
}

function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function isExpired(view: TokenView, now: number): boolean {
  return view.expiresAt !== null && now >= view.expiresAt;
}

function toView(row: TokenRow): TokenView {
  if (!isRole(row.role)) throw new TitanError(ErrorCode.INTERNAL, `store is corrupt: token ${row.id} has an unknown role "${row.role}"`);
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    namespace: row.namespace,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
  };
}

/**
 * API tokens, kept in the `api_tokens` table as sha256 hashes (a token carries 256 random bits,
 * so a fast hash is enough: a slow password hash such as bcrypt would only add CPU to every
 * request). Every token is also held in memory, loaded at open: checking one is a map lookup and
 * one constant-time comparison, revoking one takes effect on the next request, and listing them
 * reads no table. Only the leader writes the table, so memory and table agree.
 */
export class TokenStore {
  /** Every token by id, revoked ones too (`list(true)`). */
  private readonly known = new Map<string, KnownToken>();

  constructor(
    private readonly rows: TokenRows,
    loaded: readonly TokenRow[],
    /** Where a failed `last_used_at` write is reported (it is a hint; no request fails for it). */
    private readonly onTouchError: (err: unknown) => void = () => undefined,
  ) {
    for (const row of loaded) this.known.set(row.id, { view: toView(row), hash: Buffer.from(row.hash, 'hex') });
  }

  /**
   * Creates a token (expiring `ttlMs` after `now` when given) and returns it with its secret: the
   * only time the secret exists outside the caller. It verifies once `written` has committed;
   * the secret must not be handed out before that.
   */
  create(
    input: { name: string; role: string; namespace?: string | undefined; ttlMs?: number | undefined },
    now: number,
  ): { token: string; view: TokenView; written: Written } {
    if (!TOKEN_NAME_PATTERN.test(input.name)) {
      throw new TitanError(
        ErrorCode.INVALID_REQUEST,
        `token name ${JSON.stringify(input.name)} must be 1-64 letters, digits, dot, dash or underscore, starting with a letter or digit`,
      );
    }
    // Job identities are `<owner>/job:<id>`, which the name pattern (no "/") already keeps out.
    if (RESERVED_NAMES.has(input.name.toLowerCase())) {
      throw new TitanError(
        ErrorCode.INVALID_REQUEST,
        `token name ${input.name} is reserved: the ledger gives it to ${[...RESERVED_NAMES].join(', ')}; pick another`,
      );
    }
    if (!isRole(input.role)) throw new TitanError(ErrorCode.INVALID_REQUEST, `role ${JSON.stringify(input.role)} is not one of ${ROLES.join(', ')}`);
    if (input.namespace !== undefined && !NAMESPACE_PATTERN.test(input.namespace)) {
      throw new TitanError(
        ErrorCode.INVALID_REQUEST,
        `namespace ${JSON.stringify(input.namespace)} must be 1-40 lowercase letters, digits, dash or underscore (no dots)`,
      );
    }
    if (input.ttlMs !== undefined && !(Number.isInteger(input.ttlMs) && input.ttlMs > 0)) {
      throw new TitanError(ErrorCode.INVALID_REQUEST, `a token's time to live must be a positive whole number of milliseconds, not ${input.ttlMs}`);
    }
    const sameName = this.live().filter((t) => t.view.name === input.name);
    // An expired token gives up its name: it is revoked as of when it expired, with the new one's write.
    const expired = sameName.filter((t) => isExpired(t.view, now));
    if (expired.length < sameName.length) {
      throw new TitanError(
        ErrorCode.INVALID_REQUEST,
        `a live token is already named ${input.name}: revoke it first (\`titan token revoke ${input.name}\`) or pick another name`,
      );
    }
    const id = randomBytes(ID_HEX / 2).toString('hex');
    const token = `${PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
    const hash = hashToken(token);
    const view: TokenView = {
      id,
      name: input.name,
      role: input.role,
      namespace: input.namespace ?? null,
      createdAt: now,
      revokedAt: null,
      lastUsedAt: null,
      expiresAt: input.ttlMs === undefined ? null : now + input.ttlMs,
    };
    const change: TokenChange = {
      revoke: expired.map((t) => ({ id: t.view.id, at: t.view.expiresAt! })),
      insert: { ...rowOf(view), hash: hash.toString('hex') },
    };
    const written = this.write(change, () => {
      for (const r of change.revoke) this.markRevoked(r.id, r.at);
      this.known.set(id, { view, hash });
    });
    return { token, view, written };
  }

  /** The live, unexpired token this secret is, or undefined. Constant time in the secret once the id matched. */
  verify(token: string, now: number): TokenView | undefined {
    const entry = this.authentic(token);
    if (entry === undefined || entry.view.revokedAt !== null || isExpired(entry.view, now)) return undefined;
    if (entry.view.lastUsedAt === null || now - entry.view.lastUsedAt >= LAST_USED_EVERY_MS) {
      const touched = this.rows.touch(entry.view.id, now);
      if (isPromise(touched)) touched.catch(this.onTouchError);
      this.known.set(entry.view.id, { view: { ...entry.view, lastUsedAt: now }, hash: entry.hash });
    }
    return entry.view;
  }

  /** The token this secret is when it is authentic but has expired (so a refusal can say so). */
  expired(token: string, now: number): TokenView | undefined {
    const entry = this.authentic(token);
    return entry !== undefined && entry.view.revokedAt === null && isExpired(entry.view, now) ? entry.view : undefined;
  }

  private authentic(token: string): KnownToken | undefined {
    const match = TOKEN_PATTERN.exec(token);
    if (match === null) return undefined;
    const entry = this.known.get(match[1]!);
    return entry !== undefined && timingSafeEqual(hashToken(token), entry.hash) ? entry : undefined;
  }

  /** Neither revoked nor expired. */
  isLive(id: string, now: number): boolean {
    const entry = this.known.get(id);
    return entry !== undefined && entry.view.revokedAt === null && !isExpired(entry.view, now);
  }

  /**
   * Revokes by id or by name; returns the revoked token. It stops verifying at once, before
   * `written` commits: should the write fail, this master still refuses it (fail closed).
   */
  revoke(idOrName: string, now: number): { view: TokenView; written: Written } {
    const entry = this.known.get(idOrName) ?? this.live().find((t) => t.view.name === idOrName);
    if (entry === undefined || entry.view.revokedAt !== null)
      throw new TitanError(ErrorCode.INVALID_REQUEST, `no live token with id or name ${JSON.stringify(idOrName)}: list them with \`titan token ls\``);
    const id = entry.view.id;
    const written = this.write({ revoke: [{ id, at: now }] }, () => this.markRevoked(id, now));
    this.markRevoked(id, now);
    return { view: { ...entry.view, revokedAt: now }, written };
  }

  list(includeRevoked: boolean): TokenView[] {
    return [...this.known.values()]
      .map((t) => t.view)
      .filter((t) => includeRevoked || t.revokedAt === null)
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private live(): KnownToken[] {
    return [...this.known.values()].filter((t) => t.view.revokedAt === null);
  }

  private markRevoked(id: string, at: number): void {
    const entry = this.known.get(id);
    if (entry !== undefined && entry.view.revokedAt === null) this.known.set(id, { view: { ...entry.view, revokedAt: at }, hash: entry.hash });
  }

  /** Writes the change; `apply` brings memory along once it has committed. */
  private write(change: TokenChange, apply: () => void): Written {
    const result = this.rows.write(change);
    if (!isPromise(result)) {
      apply();
      return undefined;
    }
    return result.then(apply);
  }
}

function rowOf(view: TokenView): Omit<TokenRow, 'hash'> {
  return {
    id: view.id,
    name: view.name,
    role: view.role,
    namespace: view.namespace,
    created_at: view.createdAt,
    revoked_at: view.revokedAt,
    last_used_at: view.lastUsedAt,
    expires_at: view.expiresAt,
  };
}
