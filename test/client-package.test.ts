import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeClientApp } from './client-app-lock.js';
import { Cluster } from './harness.js';
import { filesUnder, packagesImportedBy } from './package-imports.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const packageDir = join(repoRoot, 'packages', 'client');
// A port nothing listens on: any registry request would fail, so the install proves it needs no network.
const UNREACHABLE_REGISTRY = 'http://127.0.0.1:9';
// What an application that only submits jobs must not be made to install.
const SERVER_PACKAGES = [
  'better-sqlite3',
  'fastify',
  '@grpc/grpc-js',
  '@grpc/proto-loader',
  '@modelcontextprotocol/sdk',
  'pino',
  'prom-client',
  'jose',
  'commander',
  'tsx',
];

/** Installed package names in a node_modules folder, scoped ones as '@scope/name'. */
function installedPackages(nodeModules: string): string[] {
  return readdirSync(nodeModules)
    .filter((name) => !name.startsWith('.'))
    .flatMap((name) => (name.startsWith('@') ? readdirSync(join(nodeModules, name)).map((inner) => `${name}/${inner}`) : [name]));
}

describe('the titan-client package, packed and installed in an empty folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'titan-client-pkg-'));
  const app = join(dir, 'app');
  const cluster = new Cluster();

  before(async () => {
    // `npm run build` has compiled the package (prepack would compile it again).
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: packageDir, timeout: 120_000 });
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    mkdirSync(app);
    writeClientApp(repoRoot, join(dir, filename), app);
    // --offline: tarballs come from the npm cache the repo's own install filled.
    await run('npm', ['ci', '--offline', '--registry', UNREACHABLE_REGISTRY, '--no-audit', '--no-fund'], { cwd: app, timeout: 180_000 });
    await cluster.startMaster();
    await cluster.startWorker('client-package-1', { slots: 1 });
  });
  after(async () => {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('installs with no server, database, gRPC or MCP package and no native addon', () => {
    const installed = installedPackages(join(app, 'node_modules'));
    assert.ok(installed.includes('titan-client'));
    assert.deepEqual(
      installed.filter((name) => SERVER_PACKAGES.includes(name)),
      [],
    );
    assert.deepEqual(
      filesUnder(join(app, 'node_modules'), (name) => name.endsWith('.node')),
      [],
      'no compiled addon',
    );
  });

  test('lists as dependencies exactly the packages its code and types import', () => {
    const installedDir = join(app, 'node_modules', 'titan-client');
    const manifest = JSON.parse(readFileSync(join(installedDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const imported = packagesImportedBy(filesUnder(join(installedDir, 'dist'), (name) => name.endsWith('.js') || name.endsWith('.d.ts')));
    assert.deepEqual([...imported.keys()].sort(), Object.keys(manifest.dependencies).sort());
  });

  test('a script in that folder imports it and submits a job that a worker runs', async () => {
    writeFileSync(
      join(app, 'submit.mjs'),
      `import { TitanClient } from 'titan-client';
const titan = await TitanClient.connect({ host: '127.0.0.1', port: Number(process.env.MASTER_PORT), token: process.env.MASTER_TOKEN });
const { jobId } = await titan.submit({ command: 'echo hello from the client package' });
const job = await titan.wait(jobId);
const lines = [];
await titan.logs(jobId, (batch) => lines.push(...batch.map((l) => l.line)));
console.log(JSON.stringify({ state: job.state, worker: job.workerId, lines }));
titan.close();
`,
    );
    const { stdout } = await run(process.execPath, ['submit.mjs'], {
      cwd: app,
      timeout: 60_000,
      env: { ...process.env, MASTER_PORT: String(cluster.port), MASTER_TOKEN: cluster.token },
    });
    assert.deepEqual(JSON.parse(stdout), { state: 'succeeded', worker: 'client-package-1', lines: ['hello from the client package'] });
  });
});
