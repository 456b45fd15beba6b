import { z } from 'zod';
import { addTool, type ToolContext } from './tool.js';

const key = z.string().min(1).max(1024).describe('The key, e.g. "best-epoch" or "runs/42/status".');
const ttl = z.number().positive().optional().describe('Seconds until the key disappears (fractions allowed); default never.');

function ttlOption(ttlSeconds: number | undefined): { ttlSeconds?: number } {
  return ttlSeconds === undefined ? {} : { ttlSeconds };
}

/** The master's key-value store, shared with jobs (the SDK's titan.kv inside them). */
export function registerKvTools(ctx: ToolContext): void {
  addTool(
    ctx,
    {
      name: 'kv_get',
      description: "Read a string from the cluster's key-value store. Returns {key, value}; value is null when the key is absent or expired.",
      input: { key },
      readOnly: true,
    },
    async (args, titan) => ({
      key: args.key,
      value: (await titan.kv.get(args.key)) ?? null,
    }),
  );

  addTool(
    ctx,
    {
      name: 'kv_put',
      description:
        'Write a string to the key-value store, replacing what was there. Jobs read it with the SDK. Returns {key, expiresAt} (epoch ms, null for never).',
      input: { key, value: z.string().describe('The value (a string; JSON-encode structured data).'), ttl_seconds: ttl },
    },
    async (args, titan) => ({ key: args.key, ...(await titan.kv.put(args.key, args.value, ttlOption(args.ttl_seconds))) }),
  );

  addTool(
    ctx,
    {
      name: 'kv_sadd',
      description: 'Add members to a set in the key-value store (creating it). Returns {key, added}: how many were new.',
      input: { key, members: z.array(z.string()).min(1).describe('The members to add.'), ttl_seconds: ttl },
    },
    async (args, titan) => ({ key: args.key, added: await titan.kv.sadd(args.key, args.members, ttlOption(args.ttl_seconds)) }),
  );

  addTool(
    ctx,
    {
      name: 'kv_smembers',
      description: 'The members of a set in the key-value store, in the order first added ([] when absent). Returns {key, members}.',
      input: { key },
      readOnly: true,
    },
    async (args, titan) => ({
      key: args.key,
      members: await titan.kv.smembers(args.key),
    }),
  );
}
