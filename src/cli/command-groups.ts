import type { Command } from 'commander';

export type Register = (program: Command) => void;

/**
 * Each `cmd-*.ts` module with the top-level commands it registers. main.ts imports only the module
 * of the command being run: loading every module would pull in the master (HTTP, gRPC, SQLite) and
 * MCP code, and make `titan jobs` start as slowly as `titan master`.
 */
export interface CommandGroup {
  readonly commands: readonly string[];
  readonly load: () => Promise<Register>;
}

export const COMMAND_GROUPS: readonly CommandGroup[] = [
  { commands: ['up'], load: async () => (await import('./cmd-up.js')).registerUp },
  { commands: ['master'], load: async () => (await import('./cmd-master.js')).registerMaster },
  { commands: ['worker'], load: async () => (await import('./cmd-worker.js')).registerWorker },
  { commands: ['run'], load: async () => (await import('./cmd-run.js')).registerRun },
  {
    commands: ['stats', 'workers', 'shutdown', 'jobs', 'status', 'logs', 'cancel', 'gc'],
    load: async () => (await import('./cmd-inspect.js')).registerInspect,
  },
  { commands: ['deploy', 'services', 'stop', 'restart'], load: async () => (await import('./cmd-service.js')).registerServices },
  { commands: ['dag', 'dags'], load: async () => (await import('./cmd-dag.js')).registerDag },
  { commands: ['dlq', 'approvals', 'approve', 'reject', 'retry'], load: async () => (await import('./cmd-dlq.js')).registerDlq },
  { commands: ['kv', 'artifact'], load: async () => (await import('./cmd-kv.js')).registerKv },
  { commands: ['schedule'], load: async () => (await import('./cmd-schedule.js')).registerSchedule },
  { commands: ['mcp'], load: async () => (await import('./cmd-mcp.js')).registerMcp },
  { commands: ['infer', 'agents'], load: async () => (await import('./cmd-infer.js')).registerInfer },
  { commands: ['token', 'audit', 'whoami'], load: async () => (await import('./cmd-security.js')).registerSecurity },
  { commands: ['certs'], load: async () => (await import('./cmd-certs.js')).registerCerts },
  { commands: ['store'], load: async () => (await import('./cmd-store.js')).registerStore },
];

/**
 * The groups to load for these arguments (argv without node and the script): none for
 * `--version`, the one that owns the command when it names one, and all of them otherwise, so
 * help lists every command and a typo gets commander's suggestion.
 */
export function groupsFor(args: readonly string[], groups: readonly CommandGroup[] = COMMAND_GROUPS): readonly CommandGroup[] {
  const first = args[0];
  if (first === '-V' || first === '--version') return [];
  const owner = groups.find((g) => first !== undefined && g.commands.includes(first));
  return owner !== undefined ? [owner] : groups;
}
