import { Opcode } from '../protocol/opcodes.js';
import type { AuditRecordView, AuditVerifyReply, TokenCreateReply, TokenView, WhoamiReply } from '../protocol/security-messages.js';
import type { Requester } from './lazy-peer.js';

export type { AuditRecordView, AuditVerifyReply, TokenCreateReply, TokenView, WhoamiReply } from '../protocol/security-messages.js';

export interface TokenCreateOptions {
  readonly name: string;
  readonly role: 'admin' | 'operator' | 'viewer';
  /** Limits the token to job, DAG and key ids starting with `<namespace>.`. */
  readonly namespace?: string;
  /** The token expires this many seconds after it is made; absent, it never does. */
  readonly ttlSeconds?: number;
}

/**
 * Identity, API tokens and the audit ledger. Everything but `whoami` needs an admin token (or
 * the cluster token). Get one from `TitanClient.security`; it shares the client's connection.
 *
 * @example
 * const { token } = await titan.security.createToken({ name: 'ci', role: 'viewer' });
 * const me = await titan.security.whoami(); // { role: 'admin', permissions: [...] }
 */
export class SecurityClient {
  constructor(private readonly peer: Requester) {}

  /** Admin: a retention pass now; finished history older than the master's --retention is deleted. */
  async gc(): Promise<{
    jobs: number;
    logChunks: number;
    dags: number;
    artifacts: number;
    artifactBytes: number;
    batches: number;
    batchMsMax: number;
    tookMs: number;
    retentionMs: number;
  }> {
    return (await this.peer.request(Opcode.STORE_GC, {}, { timeoutMs: 0 })) as {
      jobs: number;
      logChunks: number;
      dags: number;
      artifacts: number;
      artifactBytes: number;
      batches: number;
      batchMsMax: number;
      tookMs: number;
      retentionMs: number;
    };
  }

  async whoami(): Promise<WhoamiReply> {
    return (await this.peer.request(Opcode.WHOAMI, {})) as WhoamiReply;
  }

  /** The answer carries the secret: it is shown this once and cannot be read back. */
  async createToken(options: TokenCreateOptions): Promise<TokenCreateReply> {
    return (await this.peer.request(Opcode.TOKEN_CREATE, options)) as TokenCreateReply;
  }

  async listTokens(options: { all?: boolean } = {}): Promise<TokenView[]> {
    return ((await this.peer.request(Opcode.TOKEN_LIST, { all: options.all === true })) as { tokens: TokenView[] }).tokens;
  }

  /** Revokes by id or name; open connections using it are closed at once. */
  async revokeToken(idOrName: string): Promise<TokenView> {
    return ((await this.peer.request(Opcode.TOKEN_REVOKE, { token: idOrName })) as { revoked: TokenView }).revoked;
  }

  /** Newest first. */
  async audit(limit = 50): Promise<AuditRecordView[]> {
    return ((await this.peer.request(Opcode.AUDIT_LIST, { limit })) as { records: AuditRecordView[] }).records;
  }

  async verifyAudit(): Promise<AuditVerifyReply> {
    return (await this.peer.request(Opcode.AUDIT_VERIFY, {})) as AuditVerifyReply;
  }
}
