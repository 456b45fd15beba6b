import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createLogger } from '../src/common/log.js';
import { composeMaster } from '../src/cli/master-process.js';
import { MASTER_DEFAULTS } from '../src/master/options.js';

const OPENAPI = new URL('../../docs/openapi.yaml', import.meta.url);

test('docs/openapi.yaml names every API route the master serves, and no route it does not', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'titan-openapi-'));
  const master = composeMaster(
    { ...MASTER_DEFAULTS, port: 0, dataDir: dir, token: 'x', http: { host: '127.0.0.1', port: 0 } },
    createLogger('master', 'silent'),
  );
  const api = master.http!;
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
  assert.deepEqual(
    [...served].filter((r) => !documented.has(r)),
    [],
    'served but not documented',
  );
  assert.deepEqual(
    [...documented].filter((r) => !served.has(r)),
    [],
    'documented but not served',
  );
  assert.ok(served.size > 30);
});
