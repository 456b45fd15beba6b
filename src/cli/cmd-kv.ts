import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { TitanError, ErrorCode } from '../common/errors.js';
import type { TitanClient } from '../sdk/client.js';
import { printJson, withClient, withClientFlags, type GlobalFlags } from './client-command.js';
import { Exit } from './exit-codes.js';
import { table } from './format.js';
import { positiveInt } from './settings.js';

interface KvFlags extends GlobalFlags {
  ttl?: string;
}

interface ArtifactFlags extends GlobalFlags {
  output?: string;
  limit: string;
}

function usage(group: string, rest: readonly string[], n: number | 'some', text: string): void {
  if (n === 'some' ? rest.length < 2 : rest.length !== n) throw new TitanError(ErrorCode.INVALID_REQUEST, `usage: titan ${group} ${text}`);
}

function ttlSeconds(value: string | undefined): { ttlSeconds?: number } {
  if (value === undefined) return {};
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new TitanError(ErrorCode.INVALID_REQUEST, `--ttl is a number of seconds above 0 (e.g. --ttl 60 or --ttl 0.5), got "${value}"`);
  return { ttlSeconds: n };
}

async function runKv(client: TitanClient, verb: string, rest: string[], flags: KvFlags): Promise<number> {
  const key = rest[0] ?? '';
  switch (verb) {
    case 'get': {
      usage('kv', rest, 1, 'get <key>');
      const value = await client.kv.get(key);
      if (flags.json) printJson({ key, value: value ?? null });
      else if (value !== undefined) process.stdout.write(`${value}\n`);
      else process.stderr.write(`titan: no key ${JSON.stringify(key)} (never set, deleted, or expired)\n`);
      return value === undefined ? Exit.NOT_FOUND : Exit.OK;
    }
    case 'put': {
      usage('kv', rest, 2, 'put <key> <value> [--ttl seconds]');
      const { expiresAt } = await client.kv.put(key, rest[1] ?? '', ttlSeconds(flags.ttl));
      if (flags.json) printJson({ key, expiresAt });
      else process.stdout.write(`set ${key}${expiresAt === null ? '' : ` (expires ${new Date(expiresAt).toISOString()})`}\n`);
      return Exit.OK;
    }
    case 'del': {
      usage('kv', rest, 1, 'del <key>');
      const deleted = await client.kv.delete(key);
      if (flags.json) printJson({ key, deleted });
      else process.stdout.write(deleted ? `deleted ${key}\n` : `no key ${key}\n`);
      return Exit.OK;
    }
    case 'sadd': {
      usage('kv', rest, 'some', 'sadd <key> <member...> [--ttl seconds]');
      const added = await client.kv.sadd(key, rest.slice(1), ttlSeconds(flags.ttl));
      if (flags.json) printJson({ key, added });
      else process.stdout.write(`${added}\n`);
      return Exit.OK;
    }
    case 'smembers': {
      usage('kv', rest, 1, 'smembers <key>');
      const members = await client.kv.smembers(key);
      if (flags.json) printJson({ key, members });
      else if (members.length > 0) process.stdout.write(`${members.join('\n')}\n`);
      return Exit.OK;
    }
    default:
      throw new TitanError(ErrorCode.INVALID_REQUEST, `unknown verb "${verb}": titan kv get | put | del | sadd | smembers`);
  }
}

async function runArtifact(client: TitanClient, verb: string, rest: string[], flags: ArtifactFlags): Promise<number> {
  const key = rest[0] ?? '';
  switch (verb) {
    case 'put': {
      usage('artifact', rest, 2, 'put <key> <file>');
      // Inside a job, record which job published it.
      const jobId = process.env.TITAN_JOB_ID;
      const published = await client.kv.publishArtifact(key, rest[1] ?? '', jobId !== undefined ? { jobId } : {});
      if (flags.json) printJson(published);
      else process.stdout.write(`${published.hash}\n`);
      return Exit.OK;
    }
    case 'get': {
      usage('artifact', rest, 1, 'get <key> [-o file]');
      const { data, ...meta } = await client.kv.fetchArtifact(key);
      if (flags.output !== undefined) {
        await writeFile(flags.output, data);
        if (flags.json) printJson({ ...meta, file: flags.output });
        else process.stderr.write(`${key} → ${flags.output} (${meta.size} bytes)\n`);
      } else if (flags.json) {
        printJson({ ...meta, encoding: 'base64', data: Buffer.from(data).toString('base64') });
      } else {
        process.stdout.write(data);
      }
      return Exit.OK;
    }
    case 'ls': {
      if (rest.length > 1) usage('artifact', rest, 1, 'ls [prefix] [--limit n]');
      const artifacts = await client.kv.listArtifacts(rest[0] ?? '', positiveInt('--limit', flags.limit));
      if (flags.json) printJson(artifacts);
      else {
        const rows = artifacts.map((a) => [a.key, a.hash.slice(0, 12), String(a.size), new Date(a.publishedAt).toISOString(), a.jobId ?? '-']);
        process.stdout.write(`${table(['KEY', 'HASH', 'BYTES', 'PUBLISHED', 'JOB'], rows)}\n`);
      }
      return Exit.OK;
    }
    default:
      throw new TitanError(ErrorCode.INVALID_REQUEST, `unknown verb "${verb}": titan artifact put | get | ls`);
  }
}

/** `titan kv …` and `titan artifact …`: data passed between the jobs of a DAG and clients. */
export function registerKv(program: Command): void {
  withClientFlags(
    program
      .command('kv')
      .description("the master's key-value store: kv get <key> | put <key> <value> [--ttl s] | del <key> | sadd <key> <member...> | smembers <key>")
      .argument('<verb>', 'get / put / del / sadd / smembers')
      .argument('[args...]', "the verb's arguments")
      .option('--ttl <seconds>', 'put, sadd: the key expires after this many seconds'),
  ).action(async (verb: string, rest: string[], flags: KvFlags) => {
    process.exitCode = await withClient(flags, (client) => runKv(client, verb, rest, flags));
  });

  withClientFlags(
    program
      .command('artifact')
      .description('files published under a key: artifact put <key> <file> | get <key> [-o file] | ls [prefix]')
      .argument('<verb>', 'put / get / ls')
      .argument('[args...]', "the verb's arguments")
      .option('-o, --output <file>', 'get: write the bytes to this file instead of stdout')
      .option('--limit <n>', 'ls: how many', '100'),
  ).action(async (verb: string, rest: string[], flags: ArtifactFlags) => {
    process.exitCode = await withClient(flags, (client) => runArtifact(client, verb, rest, flags));
  });
}
