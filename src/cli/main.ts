#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { TitanError } from '../common/errors.js';
import { groupsFor } from './command-groups.js';
import { Exit, exitCodeFor } from './exit-codes.js';

const program = new Command('titan')
  .description('Titan: one master, capability-tagged workers, jobs, DAGs and services')
  .version('0.1.0')
  .exitOverride();

for (const group of groupsFor(process.argv.slice(2))) (await group.load())(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? Exit.OK : Exit.USAGE);
  }
  const message = err instanceof TitanError ? `${err.message} [${err.code}]` : err instanceof Error ? err.message : String(err);
  process.stderr.write(`titan: ${message}\n`);
  process.exit(exitCodeFor(err));
}
