import type { Command } from 'commander';
import { ErrorCode, TitanError } from '../common/errors.js';
import { DataDirLock } from '../store/data-dir-lock.js';
import { copySqliteToPostgres } from '../store/postgres/sqlite-to-pg.js';
import { printJson } from './client-command.js';

interface MigrateFlags {
  from?: string;
  to?: string;
  schema?: string;
  json?: boolean;
}

export function registerStore(program: Command): void {
  const store = program.command('store').description("the master's store: move a SQLite data dir into PostgreSQL (docs/HA.md)");
  store
    .command('migrate')
    .description(
      'copy everything a SQLite data dir holds (jobs, events, logs, DAGs, KV, schedules, tokens, audit ledger, artifacts) into an empty PostgreSQL store, in one transaction',
    )
    .option('--from <data-dir>', "the SQLite master's --data-dir (its master must be stopped)")
    .option('--to <postgres-url>', 'postgres://user@host:5432/db')
    .option('--schema <name>', "the PostgreSQL schema to write into (default: the URL's search_path)")
    .option('--json', 'machine-readable output')
    .action(async (flags: MigrateFlags) => {
      if (flags.from === undefined || flags.to === undefined) {
        throw new TitanError(ErrorCode.INVALID_REQUEST, 'store migrate needs --from <data-dir> and --to <postgres-url>');
      }
      if (!/^postgres(ql)?:\/\//.test(flags.to))
        throw new TitanError(ErrorCode.INVALID_REQUEST, `--to must be a postgres:// URL, not ${JSON.stringify(flags.to)}`);
      // Holding the data dir's lock keeps its master from starting (and writing) mid-copy.
      const lock = DataDirLock.acquire(flags.from);
      try {
        const report = await copySqliteToPostgres(flags.from, flags.to, flags.schema === undefined ? {} : { schema: flags.schema });
        if (flags.json) printJson(report);
        else {
          const rows = Object.entries(report)
            .map(([table, n]) => `${table} ${n}`)
            .join(', ');
          process.stdout.write(`copied ${flags.from} into PostgreSQL: ${rows}\n`);
        }
      } finally {
        lock.release();
      }
    });
}
