import type { z } from 'zod';
import { ErrorCode, TitanError } from '../../common/errors.js';
import { describeIssues } from '../../protocol/messages.js';
import { ArtifactFetchRequest, KvPutRequest } from '../../protocol/kv-messages.js';
import type { Master } from '../master.js';
import { decodeBase64 } from './payload.js';

/** The original's KV and assets are Titan's KV store and artifacts. */
type KvHost = Pick<Master, 'kv' | 'artifacts'>;

/**
 * The original's data bus (OP_KV_*) on Titan's KV store, and its assets (OP_UPLOAD_ASSET,
 * OP_DEPLOY_SCRIPT, OP_FETCH_ASSET) as artifacts published under their file name, so native
 * clients and jobs see the same keys and files.
 */

/** `first|rest`: the rest may hold `|` (values, base64 never does). */
export function splitPair(payload: string, form: string): [string, string] {
  const cut = payload.indexOf('|');
  if (cut < 0) throw new TitanError(ErrorCode.INVALID_REQUEST, `Invalid Format: the payload must be ${form}`);
  return [payload.slice(0, cut), payload.slice(cut + 1)];
}

function checked<T>(result: z.ZodSafeParseResult<T>): T {
  if (!result.success) throw new TitanError(ErrorCode.INVALID_REQUEST, describeIssues(result.error));
  return result.data;
}

export async function kvSet(master: KvHost, payload: string): Promise<string> {
  const [key, value] = splitPair(payload, 'key|value');
  const req = checked(KvPutRequest.safeParse({ key, value }));
  await master.kv.kvPut(req.key, req.value, null, Date.now());
  return 'OK';
}

/** The original answers `NULL` for a missing key, and its SDK relies on it. */
export async function kvGet(master: KvHost, key: string): Promise<string> {
  const entry = await master.kv.kvGet(key, Date.now());
  if (entry === undefined) return 'NULL';
  if (entry.kind === 'set') throw new TitanError(ErrorCode.INVALID_REQUEST, `WRONGTYPE: key ${JSON.stringify(key)} holds a set; read it with OP_KV_SMEMBERS`);
  return entry.value;
}

/** `1` when the member is new, `0` when it was there. */
export async function kvSadd(master: KvHost, payload: string): Promise<string> {
  const [key, member] = splitPair(payload, 'key|member');
  checked(KvPutRequest.safeParse({ key, value: member }));
  return String(await master.kv.kvSadd(key, [member], null, Date.now()));
}

/** Comma-separated, in the order first added; empty for a missing key. */
export async function kvSmembers(master: KvHost, key: string): Promise<string> {
  return (await master.kv.kvSmembers(key, Date.now())).join(',');
}

/** Stores `name|<base64>` and publishes it under `name` (a later upload of the same name replaces it). */
export async function uploadAsset(master: KvHost, payload: string): Promise<void> {
  const [name, b64] = splitPair(payload, 'name|<base64 of the file>');
  const { key } = checked(ArtifactFetchRequest.safeParse({ key: name.trim() }));
  const data = decodeBase64(b64.trim(), `asset ${key}`);
  await master.kv.publishArtifact(key, await master.artifacts.put(data), data.length, null, Date.now());
}

export async function fetchAsset(master: KvHost, name: string): Promise<string> {
  const published = await master.kv.getKeyedArtifact(name);
  if (published === undefined)
    throw new TitanError(ErrorCode.UNKNOWN_ARTIFACT, `NOT_FOUND: no asset named ${JSON.stringify(name)}; upload it with OP_UPLOAD_ASSET first`);
  return master.artifacts.get(published.hash).toString('base64');
}
