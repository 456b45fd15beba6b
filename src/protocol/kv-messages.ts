import { z } from 'zod';

/** Message bodies of the KV store and keyed artifacts (opcodes KV_* and ARTIFACT_PUBLISH/FETCH/LIST). */

export const MAX_KV_VALUE_BYTES = 1024 * 1024;

const key = z.string().regex(/^[^\p{Cc}]{1,512}$/u, 'keys are 1-512 characters with no control characters (no newline, tab or NUL)');
const value = z
  .string()
  .refine((v) => Buffer.byteLength(v, 'utf8') <= MAX_KV_VALUE_BYTES, 'values are at most 1 MiB (UTF-8); publish bigger data as an artifact');
// Fractions allowed (0.5 s); capped at ten years so now + ttl stays an exact integer of milliseconds.
const ttlSeconds = z
  .number()
  .positive()
  .max(10 * 365 * 86400)
  .optional();
const hash = z.string().regex(/^[a-f0-9]{64}$/, 'a hash is the 64 hex digits ARTIFACT_PUT answered with');
const jobId = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'ids are 1-128 characters of letters, digits, dot, dash or underscore');

export const KvKeyRequest = z.object({ key });
export const KvPutRequest = z.object({ key, value, ttlSeconds });
export const KvSaddRequest = z.object({ key, members: z.array(value).min(1).max(10_000), ttlSeconds });

export const ArtifactPublishRequest = z.object({ key, hash, jobId: jobId.optional() });
export const ArtifactFetchRequest = z.object({ key });
export const ArtifactListRequest = z.object({
  prefix: z.string().max(512).default(''),
  limit: z.number().int().min(1).max(10_000).default(100),
});

/** Answers. */
export interface KvGetReply {
  /** null when the key is absent or expired. */
  readonly value: string | null;
}
export interface KvPutReply {
  /** Milliseconds since the epoch; null when the key never expires. */
  readonly expiresAt: number | null;
}
export interface KvDeleteReply {
  readonly deleted: boolean;
}
export interface KvSaddReply {
  /** How many of the members were not in the set yet. */
  readonly added: number;
}
export interface KvSmembersReply {
  readonly members: string[];
}

/** An artifact published under a key (ARTIFACT_PUBLISH answers one, ARTIFACT_LIST a list). */
export interface KeyedArtifactView {
  readonly key: string;
  readonly hash: string;
  readonly size: number;
  readonly publishedAt: number;
  readonly jobId: string | null;
}
export interface ArtifactFetchReply extends KeyedArtifactView {
  readonly data: Uint8Array;
}
export interface ArtifactListReply {
  readonly artifacts: KeyedArtifactView[];
}
