#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { TitanError } from '../common/errors.js';
import { registerDag } from './cmd-dag.js';
import { registerDlq } from './cmd-dlq.js';
import { registerKv } from './cmd-kv.js';
import { registerMcp } from './cmd-mcp.js';
import { registerInspect } from './cmd-inspect.js';
import { registerServices } from './cmd-service.js';
import { registerMaster } from './cmd-master.js';
import { registerRun } from './cmd-run.js';
import { registerSchedule } from './cmd-schedule.js';
import { registerSecurity } from './cmd-security.js';
import { registerCerts } from './cmd-certs.js';
import { registerUp } from './cmd-up.js';
import { registerWorker } from './cmd-worker.js';
import { registerInfer } from './cmd-infer.js';
import { Exit, exitCodeFor } from './exit-codes.js';

const program = new Command('titan')
  .description('Titan: one master, capability-tagged workers, jobs, DAGs and services')
  .version('0.1.0')
  .exitOverride();

registerUp(program);
registerMaster(program);
registerWorker(program);
registerRun(program);
registerInspect(program);
registerServices(program);
registerDag(program);
registerDlq(program);
registerKv(program);
registerSchedule(program);
registerMcp(program);
registerInfer(program);
registerSecurity(program);
registerCerts(program);

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
