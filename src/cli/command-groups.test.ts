import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { COMMAND_GROUPS, groupsFor } from './command-groups.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

test('each group names exactly the top-level commands its module registers, and no command is in two groups', async () => {
  const seen = new Set<string>();
  for (const group of COMMAND_GROUPS) {
    const program = new Command('titan');
    (await group.load())(program);
    assert.deepEqual(program.commands.map((c) => c.name()).sort(), [...group.commands].sort());
    for (const name of group.commands) {
      assert.ok(!seen.has(name), `${name} is in two groups`);
      seen.add(name);
    }
  }
});

test('a command loads its own group only; --version loads none; help, no command or a typo load them all', () => {
  const inspect = COMMAND_GROUPS.find((g) => g.commands.includes('jobs'));
  assert.deepEqual(groupsFor(['jobs', '--limit', '20']), [inspect]);
  assert.deepEqual(groupsFor(['--version']), []);
  assert.deepEqual(groupsFor(['-V']), []);
  assert.equal(groupsFor([]), COMMAND_GROUPS);
  assert.equal(groupsFor(['--help']), COMMAND_GROUPS);
  assert.equal(groupsFor(['help', 'jobs']), COMMAND_GROUPS);
  assert.equal(groupsFor(['jbos']), COMMAND_GROUPS);
});

test('titan jobs loads no master, HTTP, gRPC, SQLite, YAML, logging, MCP, schema (zod) or TLS code', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'titan-cli-imports-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const trace = join(dir, 'resolved.txt');
  // A module resolve hook (it runs on the loader thread) appends every URL the process resolves.
  writeFileSync(
    join(dir, 'hooks.mjs'),
    [
      "import { appendFileSync } from 'node:fs';",
      'export async function resolve(specifier, context, next) {',
      '  const resolved = await next(specifier, context);',
      "  appendFileSync(process.env.TITAN_RESOLVE_TRACE, resolved.url + '\\n');",
      '  return resolved;',
      '}',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
  const run = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), MAIN, 'jobs', '--help'], {
    encoding: 'utf8',
    env: { ...process.env, TITAN_RESOLVE_TRACE: trace },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /Usage: titan jobs/);
  const resolved = readFileSync(trace, 'utf8').trim().split('\n');
  assert.ok(
    resolved.some((url) => url.endsWith('/cli/cmd-inspect.js')),
    'the trace sees the command module',
  );
  // zod builds every message schema at import, and node:tls is needed only with --tls: both cost a start several ms.
  const heavy = resolved.filter((url) =>
    /node_modules\/(fastify|@grpc|better-sqlite3|@modelcontextprotocol|pino|yaml|tar|zod)\/|\/dist\/src\/(master|http|store|mcp|inference)\/|^node:tls$/.test(
      url,
    ),
  );
  assert.deepEqual(heavy, []);
});

test('titan master --help shows the heartbeat defaults', async () => {
  const program = new Command('titan');
  const master = COMMAND_GROUPS.find((g) => g.commands.includes('master'));
  assert.ok(master !== undefined);
  (await master.load())(program);
  // Help wraps at the terminal width: compare with the whitespace folded.
  const help = (program.commands.find((c) => c.name() === 'master')?.helpInformation() ?? '').replace(/\s+/g, ' ');
  assert.match(help, /--heartbeat-interval <ms> how often workers heartbeat \(env TITAN_HEARTBEAT_INTERVAL_MS; default 2000\)/);
  assert.match(
    help,
    /--heartbeat-timeout <ms> silence after which a worker is dead and its jobs run elsewhere \(env TITAN_HEARTBEAT_TIMEOUT_MS; default 30000\)/,
  );
});
