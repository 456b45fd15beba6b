import { readFile } from 'node:fs/promises';
import { Opcode } from '../protocol/opcodes.js';
import type {
  ArtifactFetchReply,
  ArtifactListReply,
  KeyedArtifactView,
  KvDeleteReply,
  KvGetReply,
  KvPutReply,
  KvSaddReply,
  KvSmembersReply,
} from '../protocol/kv-messages.js';
import type { Requester } from './lazy-peer.js';

export type { ArtifactFetchReply as FetchedArtifact, KeyedArtifactView } from '../protocol/kv-messages.js';

export interface KvPutOptions {
  /** The key disappears this many seconds after the write (fractions allowed); without it, never. */
  readonly ttlSeconds?: number;
}

export interface PublishOptions {
  /** The job publishing it, shown by `titan artifact ls`. Inside a job, pass `process.env.TITAN_JOB_ID`. */
  readonly jobId?: string;
}

/**
 * The master's key-value store and keyed artifacts, for passing data between the jobs of a DAG
 * and clients. Everything is persisted in the master's store and survives a master restart.
 * Get one from `TitanClient.kv`; it shares the client's connection.
 *
 * @example
 * const titan = await TitanClient.connect({ token });
 * await titan.kv.put('best-epoch', '12');
 * const best = await titan.kv.get('best-epoch'); // '12'
 */
export class KvClient {
  constructor(private readonly peer: Requester) {}

  /**
   * The string under key, or undefined when it is absent or expired. A set is refused (WRONGTYPE): use smembers.
   *
   * @example
   * const url = (await titan.kv.get('dataset-url')) ?? 'https://example.com/default.csv';
   */
  async get(key: string): Promise<string | undefined> {
    const { value } = (await this.peer.request(Opcode.KV_GET, { key })) as KvGetReply;
    return value ?? undefined;
  }

  /**
   * Sets a string, replacing the previous one (and its TTL). A key holding a set is refused (WRONGTYPE).
   * Resolves with when the key expires, null for never.
   *
   * @example
   * await titan.kv.put('lock/train', 'w1', { ttlSeconds: 30 });
   */
  async put(key: string, value: string, options: KvPutOptions = {}): Promise<{ expiresAt: number | null }> {
    const body = options.ttlSeconds === undefined ? { key, value } : { key, value, ttlSeconds: options.ttlSeconds };
    return (await this.peer.request(Opcode.KV_PUT, body)) as KvPutReply;
  }

  /**
   * Removes a key (string or set); true when it existed.
   *
   * @example
   * await titan.kv.delete('lock/train');
   */
  async delete(key: string): Promise<boolean> {
    return ((await this.peer.request(Opcode.KV_DELETE, { key })) as KvDeleteReply).deleted;
  }

  /**
   * Adds members to a set (creating it) and resolves with how many were new. With ttlSeconds the
   * set's expiry is reset; without it, kept. A key holding a string is refused (WRONGTYPE).
   *
   * @example
   * const added = await titan.kv.sadd('done-shards', ['shard-3', 'shard-4']);
   */
  async sadd(key: string, members: readonly string[], options: KvPutOptions = {}): Promise<number> {
    const body = options.ttlSeconds === undefined ? { key, members } : { key, members, ttlSeconds: options.ttlSeconds };
    return ((await this.peer.request(Opcode.KV_SADD, body)) as KvSaddReply).added;
  }

  /**
   * The members of a set in the order they were first added; [] when absent or expired.
   *
   * @example
   * const shards = await titan.kv.smembers('done-shards');
   */
  async smembers(key: string): Promise<string[]> {
    return ((await this.peer.request(Opcode.KV_SMEMBERS, { key })) as KvSmembersReply).members;
  }

  /**
   * Uploads a file (given by path) or bytes and publishes them under key, replacing what the key
   * pointed at before. Identical bytes are stored once.
   *
   * @example
   * await titan.kv.publishArtifact('models/latest', 'out/model.bin', { jobId: process.env.TITAN_JOB_ID });
   */
  async publishArtifact(key: string, fileOrBytes: string | Uint8Array, options: PublishOptions = {}): Promise<KeyedArtifactView> {
    const data = typeof fileOrBytes === 'string' ? await readFile(fileOrBytes) : fileOrBytes;
    const { hash } = (await this.peer.request(Opcode.ARTIFACT_PUT, { data })) as { hash: string };
    const body = options.jobId === undefined ? { key, hash } : { key, hash, jobId: options.jobId };
    return (await this.peer.request(Opcode.ARTIFACT_PUBLISH, body)) as KeyedArtifactView;
  }

  /**
   * The artifact published under key, bytes included. Rejects with E_UNKNOWN_ARTIFACT when nothing is.
   *
   * @example
   * const { data } = await titan.kv.fetchArtifact('models/latest');
   * await writeFile('model.bin', data);
   */
  async fetchArtifact(key: string): Promise<ArtifactFetchReply> {
    return (await this.peer.request(Opcode.ARTIFACT_FETCH, { key })) as ArtifactFetchReply;
  }

  /**
   * Published artifacts whose key starts with prefix, in key order (no bytes).
   *
   * @example
   * for (const a of await titan.kv.listArtifacts('models/')) console.log(a.key, a.size);
   */
  async listArtifacts(prefix = '', limit = 100): Promise<KeyedArtifactView[]> {
    return ((await this.peer.request(Opcode.ARTIFACT_LIST, { prefix, limit })) as ArtifactListReply).artifacts;
  }
}
