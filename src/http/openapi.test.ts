import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createLogger } from '../common/log.js';
import { Master } from '../master/master.js';
import { MASTER_DEFAULTS } from '../master/options.js';
import { HttpApi } from './server.js';

const OPENAPI = new URL('../../../docs/openapi.yaml', import.meta.url);

test('docs/openapi.yaml names every API route the master serves, and no route it does not', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'titan-openapi-'));
  const master = new Master({ ...MASTER_DEFAULTS, port: 0, dataDir: dir, token: 'x' }, createLogger('master', 'silent'));
  const api = new HttpApi(master);
  t.after(async () => {
    await api.close();
    await master.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await api.app.ready();
  const served = new Set(
    api.routes
      .filter((r) => r.url.startsWith('/api/') || ['/metrics', '/healthz', '/readyz'].includes(r.url))
      .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`),
  );
  const doc = parse(readFileSync(OPENAPI, 'utf8')) as { paths: Record<string, Record<string, unknown>> };
  const documented = new Set(Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`)));
  assert.deepEqual([...served].filter((r) => !documented.has(r)), [], 'served but not documented');
  assert.deepEqual([...documented].filter((r) => !served.has(r)), [], 'documented but not served');
  assert.ok(served.size > 30);
});
