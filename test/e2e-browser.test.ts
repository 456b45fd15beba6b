import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { Cluster, TOKEN, until } from './harness.js';
import { cspViolations, launchBrowser, openDashboard, screenshot } from './browser-harness.js';

describe('the dashboard in a real browser (Debian chromium via playwright-core)', () => {
  const cluster = new Cluster();
  let browser: Browser;
  let page: Page;
  const post = async <T>(path: string, body: unknown): Promise<T> => {
    const res = await fetch(`http://127.0.0.1:${cluster.httpPort}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    assert.ok(res.ok, `${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  const go = async (hash: string): Promise<void> => {
    await page.evaluate(`window.location.hash = ${JSON.stringify(hash)}`);
  };

  before(async () => {
    await cluster.startMaster();
    await cluster.startWorker('worker-a', { tags: 'GENERAL,GPU', slots: 4 });
    await cluster.startWorker('worker-b', { slots: 4 });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await cluster.close();
  });

  test('the token prompt leads to an overview showing the two live workers', async () => {
    page = await openDashboard(browser, cluster.httpPort);
    await page.getByTestId('live-workers').filter({ hasText: '2' }).waitFor();
    const rows = page.locator('[data-testid=workers] tbody tr');
    await until('both worker rows', async () => (await rows.count()) === 2);
    assert.deepEqual((await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-worker')))).sort(), ['worker-a', 'worker-b']);
    assert.match((await page.locator('[data-worker=worker-a]').textContent()) ?? '', /GPU/);
    await page.getByTestId('throughput-chart').waitFor();
  });

  test('a submitted DAG appears in the list and its nodes turn green as they succeed', async () => {
    const yaml = [
      'name: browser-diamond',
      'jobs:',
      '  - id: extract',
      '    command: "sleep 0.3; echo e"',
      '  - id: left',
      '    command: "echo l"',
      '    depends_on: [extract]',
      '  - id: right',
      '    command: "echo r"',
      '    depends_on: [extract]',
      '  - id: join',
      '    command: "echo j"',
      '    depends_on: [left, right]',
      '',
    ].join('\n');
    await go('#/dags');
    const { dagId } = await post<{ dagId: string }>('/api/v1/dags', { yaml });
    await page.locator(`[data-dag="${dagId}"]`).click();
    const nodes = page.locator('[data-testid=dag-graph] g.node');
    await until('four nodes drawn', async () => (await nodes.count()) === 4);
    await page.locator('[data-testid=dag-graph] g.node[data-node=join][data-state=succeeded]').waitFor();
    const fills = await page.locator('[data-testid=dag-graph] g.node rect').evaluateAll((rects) => rects.map((r) => r.getAttribute('fill')));
    assert.deepEqual(fills, ['#27ab83', '#27ab83', '#27ab83', '#27ab83'], 'every node is green');
    await screenshot(page, 'dag');
    await page.locator('g.node[data-node=join]').click();
    await page.getByTestId('open-job').click();
    await page.getByTestId('job-state').filter({ hasText: 'succeeded' }).waitFor();
    await go(`#/dags/${dagId}`);
    await page.locator('g.node[data-node=left]').dblclick();
    await page.locator('h1', { hasText: `${dagId}.left` }).waitFor();
    await go('#/dags');
    await page.locator(`[data-dag="${dagId}"]`).waitFor();
    await screenshot(page, 'dags');
  });

  test('live log lines appear while the job is still printing', async () => {
    const { jobId } = await post<{ jobId: string }>('/api/v1/jobs', {
      name: 'printer',
      run: { kind: 'command', command: 'for i in $(seq 1 100); do echo "step $i of 100"; sleep 0.04; done' },
    });
    await go(`#/jobs/${jobId}`);
    await page.locator('.log-line', { hasText: 'step 3 of 100' }).waitFor();
    const now = await fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/jobs/${jobId}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(((await now.json()) as { job: { state: string } }).job.state, 'running', 'lines showed up while the job was still printing');
    await page.getByTestId('job-state').filter({ hasText: 'running' }).waitFor();
    await page.getByTestId('log-status').filter({ hasText: 'ended (succeeded)' }).waitFor();
    await page.getByTestId('log-count').filter({ hasText: '100 lines' }).waitFor();
    await page.locator('.log-line', { hasText: 'step 100 of 100' }).waitFor();
    await page.getByTestId('job-state').filter({ hasText: 'succeeded' }).waitFor();
    await screenshot(page, 'job');
  });

  test('approve unblocks a paused node', async () => {
    const yaml = [
      'name: gated',
      'jobs:',
      '  - id: build',
      '    command: "echo built"',
      '  - id: deploy',
      '    command: "echo deployed"',
      '    depends_on: [build]',
      '    approval: { message: "ship it?" }',
      '',
    ].join('\n');
    const { dagId } = await post<{ dagId: string }>('/api/v1/dags', { yaml });
    await go(`#/dags/${dagId}`);
    await page.locator('g.node[data-node=deploy] text', { hasText: 'awaiting approval' }).waitFor();
    await page.locator('g.node[data-node=deploy]').click();
    await page.getByTestId('node-state').filter({ hasText: 'pending' }).waitFor();
    await screenshot(page, 'approval');
    await page.getByTestId('approve').click();
    await page.locator('g.node[data-node=deploy][data-state=succeeded]').waitFor();
  });

  test('stop on a service stops it', async () => {
    const command = `node -e "require('http').createServer((q,s)=>s.end('ok')).listen(process.env.PORT)"`;
    const { jobId } = await post<{ jobId: string }>('/api/v1/jobs', { name: 'web-ui', run: { kind: 'command', command }, service: { port: null } });
    await go('#/services');
    const row = page.locator(`[data-service="${jobId}"]`);
    await until('the service to be ready in the table', async () => /yes/.test((await row.textContent().catch(() => '')) ?? ''), 20_000);
    await screenshot(page, 'services');
    await page.getByTestId(`stop-${jobId}`).click();
    await row.waitFor({ state: 'detached' });
    const res = await fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/jobs/${jobId}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(((await res.json()) as { job: { state: string } }).job.state, 'stopped');
  });

  test('the builder catches a cycle, and exports YAML that `titan dag` accepts and runs', async () => {
    await go('#/builder');
    await page.getByTestId('pipeline-name').fill('built-in-browser');
    await page.getByTestId('add-node').click(); // step2 after extract
    await page.getByTestId('node-command').fill('echo transformed');
    await page.getByTestId('add-node').click(); // step3 after step2
    await page.getByTestId('node-id').fill('load');
    await page.getByTestId('node-id').press('Tab');
    await page.getByTestId('connect').click();
    await page.locator('g.node[data-node=extract]').click(); // load → extract closes a cycle
    await page.getByTestId('builder-problems').filter({ hasText: 'cycle: ' }).waitFor();
    assert.equal(await page.getByTestId('export-yaml').isDisabled(), true, 'a cyclic pipeline cannot be exported');
    await page.locator('.edges li', { hasText: 'load → extract' }).getByText('remove').click();
    await page.getByTestId('export-yaml').click();
    const yaml = await page.getByTestId('yaml-output').inputValue();
    assert.match(yaml, /depends_on: \["step2"\]/);
    await screenshot(page, 'builder');
    const file = join(cluster.dir, 'built.yaml');
    writeFileSync(file, yaml);
    const run = await cluster.cli(['dag', file, '--wait', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const final = JSON.parse(run.stdout) as { dag: { state: string }; jobs: { key: string }[] };
    assert.equal(final.dag.state, 'succeeded');
    assert.deepEqual(final.jobs.map((j) => j.key).sort(), ['extract', 'load', 'step2']);
  });

  test('a viewer token sees a failed job and its log, but not the Retry its role may not use', async () => {
    const client = await cluster.client();
    const { token: secret } = await client.security.createToken({ role: 'viewer', name: 'dash-viewer' });
    const { jobId } = await post<{ jobId: string }>('/api/v1/jobs', { name: 'viewed', run: { kind: 'command', command: 'exit 2' } });
    await until('the job to fail', async () => (await client.status(jobId)).state === 'failed');
    const viewer = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    try {
      viewer.setDefaultTimeout(15_000);
      await viewer.goto(`http://127.0.0.1:${cluster.httpPort}/#/jobs/${jobId}`);
      await viewer.getByTestId('token-input').fill(secret);
      await viewer.getByTestId('token-submit').click();
      await viewer.getByTestId('identity').filter({ hasText: 'dash-viewer (viewer)' }).waitFor();
      await viewer.getByTestId('job-state').filter({ hasText: 'failed' }).waitFor();
      assert.equal(await viewer.getByTestId('retry').count(), 0, 'a viewer is not offered Retry');
      assert.equal(await viewer.getByTestId('download').count(), 1, 'reading the log is still offered');
      assert.equal(await viewer.getByTestId('nav-audit').count(), 0, 'a viewer is not offered the audit ledger');
      // The same page for an admin offers Retry: the button is hidden by role, not missing.
      await go(`#/jobs/${jobId}`);
      await page.getByTestId('retry').waitFor();
    } finally {
      await viewer.close();
    }
  });

  test('the jobs, DLQ, schedules and agent-run pages list what the API holds', async () => {
    const { jobId } = await post<{ jobId: string }>('/api/v1/jobs', { name: 'doomed-ui', run: { kind: 'command', command: 'exit 3' }, retries: 1 });
    await post('/api/v1/schedules', { name: 'nightly-report', cron: '0 3 * * *', jobs: [{ key: 'report', run: { kind: 'command', command: 'echo report' } }] });
    await go('#/dlq');
    await page.locator(`[data-testid=dlq] [data-job="${jobId}"]`).waitFor({ timeout: 20_000 });
    await screenshot(page, 'dlq');
    await go('#/schedules');
    await page.locator('[data-testid=schedules] tr', { hasText: 'nightly-report' }).waitFor();
    await page.locator('[data-testid=schedules] button', { hasText: 'Pause' }).click();
    await page.locator('[data-testid=schedules] .badge[data-state=paused]').waitFor();
    await screenshot(page, 'schedules');
    await go('#/jobs');
    await page.getByTestId('job-search').fill('doomed-ui');
    await until('the search to narrow the table to the one job', async () => (await page.locator('[data-testid=jobs-table] tbody tr').count()) === 1);
    await page.getByTestId('job-search').fill('');
    await page.locator('[data-testid=jobs-table] tbody tr').nth(5).waitFor();
    await screenshot(page, 'jobs');
    const { dagId } = await post<{ dagId: string }>('/api/v1/dags', {
      yaml: 'name: agent-step\njobs:\n  - id: think\n    command: "sleep 0.2"\n  - id: act\n    command: "true"\n    depends_on: [think]\n',
    });
    await (await cluster.client()).kv.sadd('titan:agent-run:agent-7', [dagId]);
    await go('#/agents');
    await page.locator('[data-agent-run=agent-7]').click();
    await page.getByTestId('agent-timeline').locator('text', { hasText: 'agent-step' }).waitFor();
    await screenshot(page, 'agents');
    await go('#/');
    await page.getByTestId('live-workers').filter({ hasText: '2' }).waitFor();
    await screenshot(page, 'overview');
  });

  test('the audit page shows who did what from where, filters it, and verifies the hash chain', async () => {
    const { jobId } = await post<{ jobId: string }>('/api/v1/jobs', { name: 'audited', run: { kind: 'command', command: 'true' } });
    await page.getByTestId('nav-audit').click();
    await page.getByTestId('audit-filter').fill(jobId);
    const row = page.locator('[data-testid=audit] tbody tr', { hasText: 'POST /api/v1/jobs' }).filter({ hasText: 'ok' });
    await row.first().waitFor();
    assert.match((await row.first().textContent()) ?? '', /cluster.*admin.*POST \/api\/v1\/jobs.*127\.0\.0\.1/);
    await page.getByTestId('audit-filter').fill('');
    await page.getByTestId('audit-verify').click();
    await page
      .getByTestId('audit-verdict')
      .filter({ hasText: /Chain intact: \d+ rows/ })
      .waitFor();
    await screenshot(page, 'audit');
  });

  test('the tokens page makes a token and shows its secret once; the token works until Revoke', async () => {
    await page.getByTestId('nav-tokens').click();
    await page.getByTestId('token-name').fill('ui-made');
    await page.getByTestId('token-role').selectOption('operator');
    await page.getByTestId('token-ttl').selectOption({ label: 'expires: 30 days' });
    await page.getByTestId('token-create').click();
    const shown = (await page.getByTestId('token-secret').textContent()) ?? '';
    const secret = /titan_[a-f0-9]{12}_[A-Za-z0-9_-]{43}/.exec(shown)?.[0];
    assert.ok(secret !== undefined, shown);
    await page.getByTestId('token-state-ui-made').filter({ hasText: 'live' }).waitFor();
    const whoami = (token: string): Promise<Response> =>
      fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    assert.deepEqual(((await (await whoami(secret)).json()) as { name: string; role: string }).role, 'operator');
    const listed = (await (await fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/tokens`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      tokens: { name: string; expiresAt: number | null; createdAt: number }[];
    };
    const made = listed.tokens.find((t) => t.name === 'ui-made');
    assert.equal((made?.expiresAt ?? 0) - (made?.createdAt ?? 0), 30 * 86_400_000);
    assert.ok(!JSON.stringify(listed).includes(secret.slice(19)), 'the list never carries the secret');
    await screenshot(page, 'tokens');
    await page.getByTestId('revoke-ui-made').click();
    await until('the revoked token to leave the list', async () => (await page.getByTestId('token-state-ui-made').count()) === 0);
    assert.equal((await whoami(secret)).status, 401);
  });

  test('the dashboard is served under a Content-Security-Policy, cannot be framed, and no page visited broke the policy', async () => {
    const res = await fetch(`http://127.0.0.1:${cluster.httpPort}/`);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'.*script-src 'self'.*frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.deepEqual(cspViolations(page), [], 'every page above ran under the policy without a violation');
    // The attack: another origin frames the dashboard under its own page.
    const attacker = await browser.newPage();
    const refused: string[] = [];
    attacker.on('console', (message) => refused.push(message.text()));
    await attacker.setContent(`<iframe id="victim" src="http://127.0.0.1:${cluster.httpPort}/"></iframe>`);
    await until('the browser to refuse the frame', async () => refused.some((text) => /frame-ancestors 'none'/.test(text)), 15_000);
    const framed = attacker.frames().find((frame) => frame.url().includes(`127.0.0.1:${cluster.httpPort}`));
    assert.equal(
      framed === undefined
        ? 0
        : await framed
            .locator('[data-testid=token-input]')
            .count()
            .catch(() => 0),
      0,
      'the dashboard did not render inside the frame',
    );
    await attacker.close();
  });
});
