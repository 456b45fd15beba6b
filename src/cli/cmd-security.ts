import type { Command } from 'commander';
import { TitanError, ErrorCode } from '../common/errors.js';
import { printJson, withClient, withClientFlags, type GlobalFlags } from './client-command.js';
import { Exit } from './exit-codes.js';
import { table } from './format.js';
import { positiveInt } from './settings.js';
import { parseDuration } from '../common/when.js';

interface TokenFlags extends GlobalFlags {
  role?: string;
  name?: string;
  namespace?: string;
  ttl?: string;
  all?: boolean;
}

interface AuditFlags extends GlobalFlags {
  limit: string;
}

const when = (at: number | null): string => (at === null ? '-' : new Date(at).toISOString().replace(/\.\d+Z$/, 'Z'));

async function runToken(verb: string, rest: string[], flags: TokenFlags): Promise<number> {
  return withClient(flags, async (client) => {
    switch (verb) {
      case 'create': {
        if (flags.name === undefined || flags.role === undefined)
          throw new TitanError(
            ErrorCode.INVALID_REQUEST,
            'usage: titan token create --role admin|operator|viewer --name <name> [--namespace <ns>] [--ttl 30d]',
          );
        const role = flags.role;
        if (role !== 'admin' && role !== 'operator' && role !== 'viewer')
          throw new TitanError(ErrorCode.INVALID_REQUEST, `--role is admin, operator or viewer, not "${role}"`);
        const ttlSeconds = flags.ttl === undefined ? undefined : Math.max(1, Math.round(parseDuration(flags.ttl, '--ttl') / 1000));
        const created = await client.security.createToken({
          name: flags.name,
          role,
          ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
          ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
        });
        if (flags.json) printJson(created);
        else {
          process.stdout.write(`${created.token}\n`);
          process.stderr.write(
            `token ${created.info.name} (id ${created.info.id}, role ${created.info.role}${created.info.namespace !== null ? `, namespace ${created.info.namespace}` : ''}${created.info.expiresAt !== null ? `, expires ${when(created.info.expiresAt)}` : ''}): shown once, keep it now\n`,
          );
        }
        return Exit.OK;
      }
      case 'ls': {
        const tokens = await client.security.listTokens({ all: flags.all === true });
        if (flags.json) printJson(tokens);
        else {
          const now = Date.now();
          const state = (t: (typeof tokens)[number]): string =>
            t.revokedAt !== null ? `revoked ${when(t.revokedAt)}` : t.expiresAt !== null && now >= t.expiresAt ? `expired ${when(t.expiresAt)}` : 'live';
          const rows = tokens.map((t) => [
            t.id,
            t.name,
            t.role,
            t.namespace ?? '-',
            when(t.createdAt),
            when(t.lastUsedAt),
            t.expiresAt === null ? 'never' : when(t.expiresAt),
            state(t),
          ]);
          process.stdout.write(`${table(['ID', 'NAME', 'ROLE', 'NAMESPACE', 'CREATED', 'LAST USED', 'EXPIRES', 'STATE'], rows)}\n`);
        }
        return Exit.OK;
      }
      case 'revoke': {
        if (rest.length !== 1) throw new TitanError(ErrorCode.INVALID_REQUEST, 'usage: titan token revoke <name|id>');
        const revoked = await client.security.revokeToken(rest[0]!);
        if (flags.json) printJson(revoked);
        else process.stdout.write(`revoked ${revoked.name} (${revoked.id})\n`);
        return Exit.OK;
      }
      default:
        throw new TitanError(ErrorCode.INVALID_REQUEST, `unknown token command "${verb}": create, ls or revoke`);
    }
  });
}

async function runAudit(verb: string | undefined, flags: AuditFlags): Promise<number> {
  return withClient(flags, async (client) => {
    if (verb === 'verify') {
      const verdict = await client.security.verifyAudit();
      if (flags.json) printJson(verdict);
      else if (verdict.ok) process.stdout.write(`audit ledger intact: ${verdict.rows} rows, head ${verdict.head.slice(0, 16)}…\n`);
      else process.stderr.write(`titan: audit ledger BROKEN after ${verdict.rows} rows: ${verdict.problem}\n`);
      return verdict.ok ? Exit.OK : Exit.JOB_FAILED;
    }
    if (verb !== undefined) throw new TitanError(ErrorCode.INVALID_REQUEST, `unknown audit command "${verb}": titan audit [--limit n] or titan audit verify`);
    const records = await client.security.audit(positiveInt('--limit', flags.limit));
    if (flags.json) printJson(records);
    else {
      const rows = records.map((r) => [String(r.seq), when(r.at), r.who, r.role, r.action, r.target.slice(0, 40), r.source, r.result.slice(0, 60)]);
      process.stdout.write(`${table(['SEQ', 'AT', 'WHO', 'ROLE', 'ACTION', 'TARGET', 'SOURCE', 'RESULT'], rows)}\n`);
    }
    return Exit.OK;
  });
}

export function registerSecurity(program: Command): void {
  withClientFlags(
    program
      .command('token')
      .description('API tokens: create --role admin|operator|viewer --name <n> [--namespace <ns>] [--ttl 30d] | ls [--all] | revoke <name|id>')
      .argument('<verb>', 'create, ls or revoke')
      .argument('[rest...]')
      .option('--role <role>', 'admin, operator or viewer')
      .option('--name <name>', 'a name to list and revoke it by')
      .option('--namespace <ns>', 'limit the token to ids starting with <ns>.')
      .option('--ttl <duration>', 'create: the token expires this long after it is made (30m, 12h, 90d); default never')
      .option('--all', 'ls: include revoked tokens'),
  ).action(async (verb: string, rest: string[], flags: TokenFlags) => {
    process.exitCode = await runToken(verb, rest, flags);
  });
  withClientFlags(
    program
      .command('audit')
      .description('the audit ledger: newest entries, or `titan audit verify` to check its hash chain')
      .argument('[verb]', 'verify')
      .option('--limit <n>', 'how many entries', '50'),
  ).action(async (verb: string | undefined, flags: AuditFlags) => {
    process.exitCode = await runAudit(verb, flags);
  });
  withClientFlags(program.command('whoami').description('the identity, role and permissions of the token in use')).action(async (flags: GlobalFlags) => {
    await withClient(flags, async (client) => {
      const me = await client.security.whoami();
      if (flags.json) printJson(me);
      else
        process.stdout.write(
          `${me.name} (${me.kind}) role ${me.role}${me.namespace !== null ? ` namespace ${me.namespace}` : ''}: ${me.permissions.join(', ')}\n`,
        );
    });
  });
}
