import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { TitanClient } from '../src/sdk/client.js';
import { Cluster, until } from './harness.js';
import { launchBrowser, openDashboard, screenshot } from './browser-harness.js';
import { awaitListed, submitOriginal } from './compat-fixtures.js';
import { OP, v1 } from './v1-client.js';

describe('gate jobs of the original Titan SDK (KV protocol over v1): one approved with titan approve, one rejected in the dashboard', () => {
  const cluster = new Cluster();
  let client: TitanClient;
  let browser: Browser;
  let page: Page;
  // The gate scripts poll every 0.2 s over v1, faster than the shared legacy-v1 rate limit allows.
  before(async () => {
    await cluster.startMaster(['--allow-legacy-unauthenticated', '--rate-limit', 'off']);
    await cluster.startWorker('w1', { slots: 4 });
    client = await cluster.client();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await cluster.close();
  });

  test('the unchanged gate scripts exit 0 and 1 on the decisions, and the DAG goes on or stops', async () => {
    const before = Date.now();
    const { dagId } = await submitOriginal(cluster, 'kv-gates.yaml');
    const ship = await awaitListed(cluster, 'hitl:gate-ship');
    assert.deepEqual([ship.kind, ship.message, ship.jobId], ['kv-gate', 'Ship the build?', null]);
    assert.ok(ship.since !== null && ship.since >= before - 1000 && (ship.ageMs ?? -1) >= 0, 'its age counts from the time it wrote');
    await awaitListed(cluster, 'hitl:gate-drop');

    const approved = await cluster.cli(['approve', 'hitl:gate-ship', '--by', 'alice']);
    assert.equal(approved.code, 0, approved.stderr);
    assert.equal(approved.stdout, 'gate hitl:gate-ship approved: titan:hitl:status:gate-ship is APPROVED\n');
    assert.equal((await v1(cluster.port, OP.KV_GET, 'titan:hitl:status:gate-ship')).text, 'APPROVED', 'written as the original dashboard writes it');
    await until('ship to run after its gate', async () => (await client.status(`${dagId}.ship`)).state === 'succeeded', 30_000);
    assert.equal((await client.status(`${dagId}.gate-ship`)).exitCode, 0);

    page = await openDashboard(browser, cluster.httpPort);
    await page.evaluate('window.location.hash = "#/approvals"');
    const row = page.locator('[data-approval="hitl:gate-drop"]');
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /SDK gate \(KV\).*Drop the old tables\?/);
    assert.match((await row.getByTestId('approval-age').textContent()) ?? '', /\d/);
    assert.equal(await page.locator('[data-approval="hitl:gate-ship"]').count(), 0, 'a decided gate is no longer listed');
    await screenshot(page, 'approvals');
    await page.getByTestId('reject-hitl:gate-drop').click();
    await row.waitFor({ state: 'detached' });

    const done = await client.waitDag(dagId, 30_000);
    assert.equal(done.dag.state, 'failed');
    const states = Object.fromEntries(done.jobs.map((j) => [j.key, [j.state, j.exitCode]]));
    assert.deepEqual(states, {
      build: ['succeeded', 0],
      'gate-ship': ['succeeded', 0],
      ship: ['succeeded', 0],
      'gate-drop': ['failed', 1],
      drop: ['skipped', null],
    });
    assert.equal(await client.kv.get('titan:hitl:status:gate-drop'), 'REJECTED');
    const lines: string[] = [];
    await client.logs(`${dagId}.gate-drop`, (batch) => lines.push(...batch.map((l) => l.line)));
    assert.deepEqual(lines, ['gate gate-drop waiting: Drop the old tables?', 'gate gate-drop rejected']);
  });

  test('a hitl_message gate of an original-schema pipeline is listed with its deadline and approved from the same page', async () => {
    const { dagId } = await submitOriginal(cluster, 'agents.yaml');
    const gate = `${dagId}.hitl-gate-risk-check`;
    await awaitListed(cluster, gate);
    await page.evaluate('window.location.hash = "#/approvals"');
    const row = page.locator(`[data-approval="${gate}"]`);
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /Titan approval.*Risk report ready\. Publish it\?/);
    assert.match((await row.locator('td').nth(4).textContent()) ?? '', /\d/, 'its max_wait_seconds deadline is shown');
    await page.getByTestId(`approve-${gate}`).click();
    await row.waitFor({ state: 'detached' });
    const done = await client.waitDag(dagId, 30_000);
    assert.equal(done.dag.state, 'succeeded');
    assert.equal(done.jobs.find((j) => j.key === 'hitl-gate-risk-check')?.reason, 'approved by dashboard');
  });
});
