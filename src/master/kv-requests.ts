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
      const entry = master.kv.kvGet(key, Date.now());
      if (entry?.kind === 'set') {
        throw new TitanError(
          ErrorCode.INVALID_REQUEST,
          `WRONGTYPE: key ${JSON.stringify(key)} holds a set, not a string; read it with smembers (\`titan kv smembers ${JSON.stringify(key)}\`)`,
        );
      }
      reply.ok({ value: entry?.value ?? null } satisfies KvGetReply);
      return true;
    }
    case Opcode.KV_PUT: {
      const req = parseBody(KvPutRequest, msg);
      const now = Date.now();
      const ttl = ttlMs(req.ttlSeconds);
      master.kv.kvPut(req.key, req.value, ttl, now);
      reply.ok({ expiresAt: ttl === null ? null : now + ttl } satisfies KvPutReply);
      return true;
    }
    case Opcode.KV_DELETE:
      reply.ok({ deleted: master.kv.kvDelete(parseBody(KvKeyRequest, msg).key) } satisfies KvDeleteReply);
      return true;
    case Opcode.KV_SADD: {
      const req = parseBody(KvSaddRequest, msg);
      reply.ok({ added: master.kv.kvSadd(req.key, req.members, ttlMs(req.ttlSeconds), Date.now()) } satisfies KvSaddReply);
      return true;
    }
    case Opcode.KV_SMEMBERS:
      reply.ok({ members: master.kv.kvSmembers(parseBody(KvKeyRequest, msg).key, Date.now()) } satisfies KvSmembersReply);
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
      reply.ok(master.kv.publishArtifact(req.key, req.hash, size, req.jobId ?? null, Date.now()) satisfies KeyedArtifactView);
      return true;
    }
    case Opcode.ARTIFACT_FETCH: {
      const { key } = parseBody(ArtifactFetchRequest, msg);
      const published = master.kv.getKeyedArtifact(key);
      if (published === undefined) {
        throw new TitanError(
          ErrorCode.UNKNOWN_ARTIFACT,
          `no artifact published under key ${JSON.stringify(key)}: publish one with \`titan artifact put ${JSON.stringify(key)} <file>\` (\`titan artifact ls\` lists the keys)`,
        );
      }
      reply.ok({ ...published, data: master.artifacts.get(published.hash) } satisfies ArtifactFetchReply);
      return true;
    }
    case Opcode.ARTIFACT_LIST: {
      const req = parseBody(ArtifactListRequest, msg);
      reply.ok({ artifacts: master.kv.listKeyedArtifacts(req.prefix, req.limit) } satisfies ArtifactListReply);
      return true;
    }
    default:
      return false;
  }
}
