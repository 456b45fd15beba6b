import { replyWhenDurable, replyWhenRead } from './durable-reply.js';
import { TitanError, ErrorCode } from '../common/errors.js';
import { Opcode } from '../protocol/opcodes.js';
import {
  ArtifactFetchRequest,
  ArtifactListRequest,
  ArtifactPublishRequest,
  KvKeyRequest,
  KvPutRequest,
  KvSaddRequest,
  type ArtifactFetchReply,
  type ArtifactListReply,
  type KeyedArtifactView,
  type KvDeleteReply,
  type KvGetReply,
  type KvPutReply,
  type KvSaddReply,
  type KvSmembersReply,
} from '../protocol/kv-messages.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';
import type { Master } from './master.js';
import { parseBody } from '../protocol/parse-body.js';

export type KvHost = Pick<Master, 'kv' | 'artifacts'>;

const ttlMs = (ttlSeconds: number | undefined): number | null => (ttlSeconds === undefined ? null : Math.ceil(ttlSeconds * 1000));

/**
 * The KV store (strings and sets, optional TTL) and artifacts published under a key: how jobs of
 * a DAG and clients pass data to each other. Returns false when the opcode is not one of these.
 */
export function handleKvMessage(master: KvHost, msg: IncomingMessage, reply: Replier): boolean {
  switch (msg.opcode) {
    case Opcode.KV_GET: {
      const { key } = parseBody(KvKeyRequest, msg);
      const value = master.kv.kvGet(key, Date.now()).then((entry) => {
        if (entry?.kind === 'set') {
          throw new TitanError(
            ErrorCode.INVALID_REQUEST,
            `WRONGTYPE: key ${JSON.stringify(key)} holds a set, not a string; read it with smembers (\`titan kv smembers ${JSON.stringify(key)}\`)`,
          );
        }
        return { value: entry?.value ?? null } satisfies KvGetReply;
      });
      replyWhenRead(reply, value);
      return true;
    }
    case Opcode.KV_PUT: {
      const req = parseBody(KvPutRequest, msg);
      const now = Date.now();
      const ttl = ttlMs(req.ttlSeconds);
      replyWhenDurable(reply, master.kv.kvPut(req.key, req.value, ttl, now), () => ({ expiresAt: ttl === null ? null : now + ttl }) satisfies KvPutReply);
      return true;
    }
    case Opcode.KV_DELETE:
      replyWhenDurable(reply, master.kv.kvDelete(parseBody(KvKeyRequest, msg).key), (deleted) => ({ deleted }) satisfies KvDeleteReply);
      return true;
    case Opcode.KV_SADD: {
      const req = parseBody(KvSaddRequest, msg);
      replyWhenDurable(reply, master.kv.kvSadd(req.key, req.members, ttlMs(req.ttlSeconds), Date.now()), (added) => ({ added }) satisfies KvSaddReply);
      return true;
    }
    case Opcode.KV_SMEMBERS:
      replyWhenRead(
        reply,
        master.kv.kvSmembers(parseBody(KvKeyRequest, msg).key, Date.now()).then((members) => ({ members }) satisfies KvSmembersReply),
      );
      return true;
    case Opcode.ARTIFACT_PUBLISH: {
      const req = parseBody(ArtifactPublishRequest, msg);
      if (!master.artifacts.has(req.hash)) {
        throw new TitanError(
          ErrorCode.UNKNOWN_ARTIFACT,
          `no artifact ${req.hash} on this master: upload the bytes with ARTIFACT_PUT first (\`titan artifact put <key> <file>\` and the SDK's kv.publishArtifact do both)`,
        );
      }
      const size = master.artifacts.get(req.hash).byteLength;
      replyWhenDurable(
        reply,
        master.kv.publishArtifact(req.key, req.hash, size, req.jobId ?? null, Date.now()),
        (published) => published satisfies KeyedArtifactView,
      );
      return true;
    }
    case Opcode.ARTIFACT_FETCH: {
      const { key } = parseBody(ArtifactFetchRequest, msg);
      const fetched = master.kv.getKeyedArtifact(key).then((published) => {
        if (published === undefined) {
          throw new TitanError(
            ErrorCode.UNKNOWN_ARTIFACT,
            `no artifact published under key ${JSON.stringify(key)}: publish one with \`titan artifact put ${JSON.stringify(key)} <file>\` (\`titan artifact ls\` lists the keys)`,
          );
        }
        return { ...published, data: master.artifacts.get(published.hash) } satisfies ArtifactFetchReply;
      });
      replyWhenRead(reply, fetched);
      return true;
    }
    case Opcode.ARTIFACT_LIST: {
      const req = parseBody(ArtifactListRequest, msg);
      replyWhenRead(
        reply,
        master.kv.listKeyedArtifacts(req.prefix, req.limit).then((artifacts) => ({ artifacts }) satisfies ArtifactListReply),
      );
      return true;
    }
    default:
      return false;
  }
}
