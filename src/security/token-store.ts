import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { ErrorCode, TitanError } from '../common/errors.js';
import { NAMESPACE_PATTERN, ROLES, type Role } from './policy.js';

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

interface TokenRow {
  id: string;
  name: string;
  role: string;
  namespace: string | null;
  hash: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
  expires_at: number | null;
}

interface LiveToken {
  readonly view: TokenView;
  readonly hash: Buffer;
}

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
 * request). Live tokens are also held in memory by id, so checking one is a map lookup and one
 * constant-time comparison, and revoking one takes effect on the next request.
 */
export class TokenStore {
  private readonly live = new Map<string, LiveToken>();
  private readonly insert: Statement;
  private readonly revokeRow: Statement;
  private readonly touch: Statement;
  private readonly selectAll: Statement<[], TokenRow>;

  constructor(db: Database) {
    this.insert = db.prepare('INSERT INTO api_tokens (id, name, role, namespace, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.revokeRow = db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
    this.touch = db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?');
    this.selectAll = db.prepare<[], TokenRow>('SELECT * FROM api_tokens ORDER BY created_at, id');
    for (const row of this.selectAll.all()) {
      if (row.revoked_at === null) this.live.set(row.id, { view: toView(row), hash: Buffer.from(row.hash, 'hex') });
    }
  }

  /**
   * Creates a token (expiring `ttlMs` after `now` when given) and returns it with its secret: the
   * only time the secret exists outside the caller.
   */
  create(input: { name: string; role: string; namespace?: string | undefined; ttlMs?: number | undefined }, now: number): { token: string; view: TokenView } {
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
    // An expired token gives up its name: it is revoked as of when it expired.
    for (const t of [...this.live.values()]) if (t.view.name === input.name && isExpired(t.view, now)) this.revoke(t.view.id, t.view.expiresAt!);
    if ([...this.live.values()].some((t) => t.view.name === input.name)) {
      throw new TitanError(
        ErrorCode.INVALID_REQUEST,
        `a live token is already named ${input.name}: revoke it first (\`titan token revoke ${input.name}\`) or pick another name`,
      );
    }
    const id = randomBytes(ID_HEX / 2).toString('hex');
    const token = `${PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
    const hash = hashToken(token);
    const expiresAt = input.ttlMs === undefined ? null : now + input.ttlMs;
    this.insert.run(id, input.name, input.role, input.namespace ?? null, hash.toString('hex'), now, expiresAt);
    const view: TokenView = {
      id,
      name: input.name,
      role: input.role,
      namespace: input.namespace ?? null,
      createdAt: now,
      revokedAt: null,
      lastUsedAt: null,
      expiresAt,
    };
    this.live.set(id, { view, hash });
    return { token, view };
  }

  /** The live, unexpired token this secret is, or undefined. Constant time in the secret once the id matched. */
  verify(token: string, now: number): TokenView | undefined {
    const entry = this.authentic(token);
    if (entry === undefined || isExpired(entry.view, now)) return undefined;
    if (entry.view.lastUsedAt === null || now - entry.view.lastUsedAt >= LAST_USED_EVERY_MS) {
      this.touch.run(now, entry.view.id);
      this.live.set(entry.view.id, { view: { ...entry.view, lastUsedAt: now }, hash: entry.hash });
    }
    return entry.view;
  }

  /** The token this secret is when it is authentic but has expired (so a refusal can say so). */
  expired(token: string, now: number): TokenView | undefined {
    const entry = this.authentic(token);
    return entry !== undefined && isExpired(entry.view, now) ? entry.view : undefined;
  }

  private authentic(token: string): LiveToken | undefined {
    const match = TOKEN_PATTERN.exec(token);
    if (match === null) return undefined;
    const entry = this.live.get(match[1]!);
    return entry !== undefined && timingSafeEqual(hashToken(token), entry.hash) ? entry : undefined;
  }

  /** Neither revoked nor expired. */
  isLive(id: string, now: number): boolean {
    const entry = this.live.get(id);
    return entry !== undefined && !isExpired(entry.view, now);
  }

  /** Revokes by id or by name; returns the revoked token. */
  revoke(idOrName: string, now: number): TokenView {
    const entry = this.live.get(idOrName) ?? [...this.live.values()].find((t) => t.view.name === idOrName);
    if (entry === undefined)
      throw new TitanError(ErrorCode.INVALID_REQUEST, `no live token with id or name ${JSON.stringify(idOrName)}: list them with \`titan token ls\``);
    this.revokeRow.run(now, entry.view.id);
    this.live.delete(entry.view.id);
    return { ...entry.view, revokedAt: now };
  }

  list(includeRevoked: boolean): TokenView[] {
    return this.selectAll
      .all()
      .map(toView)
      .filter((t) => includeRevoked || t.revokedAt === null);
  }
}
