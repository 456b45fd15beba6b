import { z } from 'zod';

/** Message bodies of WHOAMI, TOKEN_* and AUDIT_* (docs/SECURITY.md). */

export const TokenCreateRequest = z.object({
  name: z.string().min(1).max(64),
  role: z.enum(['admin', 'operator', 'viewer']),
  namespace: z.string().min(1).max(40).optional(),
  /** The token stops working this many seconds after it is made (at most ten years); absent: never. */
  ttlSeconds: z
    .number()
    .int()
    .min(1)
    .max(10 * 365 * 86_400)
    .optional(),
});
export const TokenListRequest = z.object({ all: z.boolean().default(false) });
export const TokenRevokeRequest = z.object({ token: z.string().min(1).max(64) });
export const AuditListRequest = z.object({ limit: z.number().int().min(1).max(10_000).default(50) });

export interface WhoamiReply {
  readonly kind: 'cluster' | 'token' | 'job';
  readonly name: string;
  readonly role: string;
  readonly namespace: string | null;
  /** What this identity may do: read, submit, cancel, approve, deploy, write, admin (worker). */
  readonly permissions: string[];
}

export interface TokenView {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly namespace: string | null;
  readonly createdAt: number;
  readonly revokedAt: number | null;
  readonly lastUsedAt: number | null;
  readonly expiresAt: number | null;
}

/** TOKEN_CREATE's answer: the only time the secret is sent anywhere. */
export interface TokenCreateReply {
  readonly token: string;
  readonly info: TokenView;
}

/** A ledger row and the chain check, as AUDIT_LIST / AUDIT_VERIFY answer: the ledger's own shapes. */
export type { AuditRecord as AuditRecordView, AuditVerdict as AuditVerifyReply } from './audit-views.js';
