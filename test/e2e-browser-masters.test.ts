import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { cspViolations, launchBrowser, openDashboard } from './browser-harness.js';
import { HaCluster } from './ha-cluster.js';

/** The dashboard's overview on a cluster of two masters (docs/HA.md): a Masters panel names the leader, its epoch and the standby. */
describe('the dashboard shows the masters of a cluster', () => {
  const cluster = new HaCluster({ leaseTtl: '2s' });
  let browser: Browser;

  before(async () => {
    await cluster.open();
    await cluster.startMaster('a');
    await cluster.startMaster('b');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await cluster.close();
  });

  test('the leader’s overview lists itself as leader at its epoch and the other as standby, under the page’s CSP', async () => {
    const leader = await cluster.leader();
    const epoch = (await cluster.health(leader))?.epoch;
    const page = await openDashboard(browser, leader.httpPort);
    const panel = page.getByTestId('masters');
    await page.locator('[data-testid="masters"] tr[data-role="standby"]').waitFor();
    assert.equal(await panel.locator('tr[data-role="leader"]').count(), 1);
    assert.match((await panel.locator('tr[data-role="leader"]').textContent()) ?? '', new RegExp(`127\\.0\\.0\\.1:${leader.port}`));
    assert.ok(await page.getByText(`Masters (epoch ${epoch})`).isVisible());
    assert.deepEqual(cspViolations(page), []);
  });
});
