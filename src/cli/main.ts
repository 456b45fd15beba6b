#!/usr/bin/env node
import { createRequire } from 'node:module';
import type * as Commander from 'commander';
import { groupsFor } from './command-groups.js';
import { Exit } from './exit-codes.js';
import { describeFailure, isBrokenPipe } from './failure.js';
import { boundMasterYoungGeneration, MASTER_YOUNG_GENERATION_MB } from './master-heap.js';

const VERSION = '0.1.0';
const args = process.argv.slice(2);

// A master's young generation is bounded before its start-up allocates (V8 never gives back what
// it grew), at half until it has started: runMaster lifts it (master-heap.ts).
if (args[0] === 'master' || args[0] === 'up') boundMasterYoungGeneration(MASTER_YOUNG_GENERATION_MB / 2);

// `titan jobs | head`: the reader left; stop quietly as other Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (isBrokenPipe(err)) process.exit(Exit.OK);
    throw err;
  });
}

/** Builds the program with the groups these arguments need, runs the command and reports a failure. */
async function runCommand(): Promise<void> {
  // commander is CommonJS. Required, it is not first scanned for its exports as it is when imported
  // from ESM, and the scanner, which nothing else needs, is never loaded (issue 15).
  const requireCjs = createRequire(import.meta.url);
  const { Command, CommanderError } = requireCjs('commander') as typeof Commander;
  const program = new Command('titan').description('Titan: one master, capability-tagged workers, jobs, DAGs and services').version(VERSION).exitOverride();

  for (const group of groupsFor(args)) (await group.load())(program);

  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exit(err.exitCode === 0 ? Exit.OK : Exit.USAGE);
    }
    const failure = describeFailure(err, args);
    if (args.includes('--json')) {
      process.stdout.write(`${JSON.stringify({ code: failure.code, message: failure.message, hint: failure.hint })}\n`);
    } else {
      process.stderr.write(`titan: ${failure.message} [${failure.code}]\n`);
      if (failure.hint !== null) process.stderr.write(`hint: ${failure.hint}\n`);
    }
    process.exit(failure.exit);
  }
}

// Alone, --version prints what commander would print, without loading commander: that is most of
// what `titan --version` otherwise costs.
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) process.stdout.write(`${VERSION}\n`);
else await runCommand();
