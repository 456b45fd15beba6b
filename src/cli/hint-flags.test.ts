import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { COMMAND_GROUPS } from './command-groups.js';

// From dist/src/cli/ back to the repo's src/.
const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

/** Files whose `--flags` belong to other programs (bwrap, docker, nvidia-smi, node, useradd, pg_ctlcluster, the Python fork server, test fixtures). */
const FOREIGN = [
  'worker/confine/',
  'worker/job-user.ts',
  'worker/warm/fork-server.ts',
  'worker/docker/',
  'worker/interpreter.ts',
  'worker/spawn-host.ts',
  'inference/agent-probe.ts',
  'store/store-conformance.ts',
  'store/postgres/pg-test-schema.ts',
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** Flags of other commands a hint may show (curl, in the artifact upload example) or a file passes on (node, for the watchdog; V8, for the master's heap). */
const OTHER_PROGRAMS_FLAGS = new Set(['--data-binary', '--max-old-space-size', '--heap-growing-percent', '--semi-space-growth-factor']);

async function definedFlags(): Promise<Set<string>> {
  const program = new Command('titan');
  for (const group of COMMAND_GROUPS) (await group.load())(program);
  const flags = new Set(['--help', '--version']);
  const walk = (command: Command): void => {
    for (const option of command.options) if (option.long !== undefined) flags.add(option.long.replace(/^--no-/, '--'));
    command.commands.forEach(walk);
  };
  walk(program);
  return flags;
}

test('every --flag a message or hint names is a flag some titan command has', async () => {
  const flags = await definedFlags();
  assert.ok(flags.has('--listen') && flags.has('--heartbeat-timeout'), "the walk finds the commands' options");
  const unknown: string[] = [];
  for (const file of sources(SRC)) {
    const path = relative(SRC, file);
    if (FOREIGN.some((f) => path.startsWith(f))) continue;
    const text = readFileSync(file, 'utf8');
    // Flags inside string literals and template strings, which is where messages and hints live.
    for (const literal of text.match(/'[^'\n]*'|`[^`]*`|"[^"\n]*"/g) ?? []) {
      for (const flag of literal.match(/(?<![\w-])--[a-z][a-z-]*[a-z]/g) ?? []) {
        if (!flags.has(flag.replace(/^--no-/, '--')) && !OTHER_PROGRAMS_FLAGS.has(flag)) unknown.push(`${path}: ${flag}`);
      }
    }
  }
  assert.deepEqual(unknown, []);
});
