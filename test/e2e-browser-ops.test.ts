import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { Cluster, TOKEN, until } from './harness.js';
import { InferenceCluster, type OllamaHandle } from './inference-harness.js';
import { launchBrowser, openDashboard, screenshot } from './browser-harness.js';

/** Every console error and every failed response of a page, so a suite can end by asserting there were none. */
function watchForFaults(page: Page): string[] {
  const faults: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') faults.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => faults.push(`page error: ${err.message}`));
  page.on('response', (res) => {
    if (res.status() >= 400) faults.push(`${res.status()} ${res.url()}`);
  });
  return faults;
}

/** Seconds in a runtime cell ("295 ms", "4.2 s", "1m 3s"). */
function seconds(text: string): number {
  const ms = /^(\d+) ms$/.exec(text.trim());
  if (ms !== null) return Number(ms[1]) / 1000;
  const short = /^([\d.]+) s$/.exec(text.trim());
  if (short !== null) return Number(short[1]);
  const long = /^(\d+)m (\d+)s$/.exec(text.trim());
  if (long !== null) return Number(long[1]) * 60 + Number(long[2]);
  throw new Error(`not a runtime: "${text}"`);
}

describe('the dashboard for operators: ticking runtimes, the builder, approval gates, the favicon', () => {
  const cluster = new Cluster();
  let browser: Browser;
  let page: Page;
  let faults: string[] = [];
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
  const go = (hash: string): Promise<void> => page.evaluate(`window.location.hash = ${JSON.stringify(hash)}`);

  before(async () => {
    await cluster.startMaster();
    await cluster.startWorker('worker-a', { slots: 4 });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await cluster.close();
  });

  test('the master serves a favicon the page links to, and opening the dashboard logs no error and no 404', async () => {
    page = await openDashboard(browser, cluster.httpPort);
    faults = watchForFaults(page);
    await page.reload();
    await page.getByTestId('live-workers').waitFor();
    const href = await page.locator('link[rel=icon]').getAttribute('href');
    assert.equal(href, './favicon.svg');
    for (const path of ['/favicon.svg', '/favicon.ico']) {
      const res = await fetch(`http://127.0.0.1:${cluster.httpPort}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), 'image/svg+xml', path);
      assert.match(await res.text(), /^<svg /, path);
    }
    assert.deepEqual(faults, [], 'no console error, no failed request');
  });

  test("a running job's runtime counts up every second without refetching the job", async () => {
    const { jobId } = await post<{ jobId: string }>('/api/v1/jobs', { name: 'long-sleeper', run: { kind: 'command', command: 'sleep 60' } });
    // Running before the page opens, so no state change of the job is still on its way to the page.
    const client = await cluster.client();
    await until('the job to run', async () => (await client.status(jobId)).state === 'running');
    await go(`#/jobs/${jobId}`);
    await page.getByTestId('job-state').filter({ hasText: 'running' }).waitFor();
    const runtime = page.getByTestId('job-runtime');
    const detailPath = `/api/v1/jobs/${jobId}`;
    let refetches = 0;
    const count = (req: { url(): string }): void => {
      if (new URL(req.url()).pathname === detailPath) refetches++;
    };
    page.on('request', count);
    const readings = [seconds((await runtime.textContent()) ?? '')];
    for (let i = 0; i < 3; i++) {
      const last = readings[readings.length - 1] ?? 0;
      const next = await until(
        `the runtime to move past ${last} s`,
        async () => {
          const now = seconds((await runtime.textContent()) ?? '');
          return now > last ? now : undefined;
        },
        10_000,
      );
      readings.push(next);
    }
    page.off('request', count);
    await screenshot(page, 'job-running');
    assert.equal(refetches, 0, `the job was not fetched again while its runtime went ${readings.join(' → ')} s`);
    // The jobs list ticks too.
    await go('#/jobs');
    const cell = page.locator(`[data-job="${jobId}"] [data-testid=row-runtime]`);
    const before = seconds((await cell.textContent()) ?? '');
    await until('the list runtime to move', async () => seconds((await cell.textContent()) ?? '') > before, 10_000);
    await post(`/api/v1/jobs/${jobId}/cancel`, {});
  });

  test('Deploy is disabled, saying why, while the builder shows a problem, and deploys once it is fixed', async () => {
    await go('#/builder');
    const deploy = page.getByTestId('deploy');
    await deploy.waitFor();
    assert.equal(await deploy.isDisabled(), false, 'a valid pipeline can be deployed');
    await page.getByTestId('pipeline-name').fill('');
    await page.getByTestId('builder-problems').filter({ hasText: 'the pipeline needs a name' }).waitFor();
    assert.equal(await deploy.isDisabled(), true, 'no deploy while there is a problem');
    assert.equal(await deploy.getAttribute('title'), 'fix the problem below first');
    await screenshot(page, 'builder-problem');
    await page.getByTestId('pipeline-name').fill('from-builder');
    await page.getByTestId('add-node').click();
    await page.getByTestId('node-command').fill('');
    await page.getByTestId('builder-problems').filter({ hasText: 'node step2 has no command' }).waitFor();
    assert.equal(await deploy.isDisabled(), true, 'a node without a command blocks it too');
    await page.getByTestId('node-command').fill('echo loaded');
    await until('the problems to clear', async () => (await page.getByTestId('builder-problems').count()) === 0);
    assert.equal(await deploy.isDisabled(), false);
    await deploy.click();
    await page.locator('h1', { hasText: 'DAG' }).waitFor();
    await page.locator('g.node[data-state=succeeded]').nth(1).waitFor({ timeout: 20_000 });
  });

  test('a node held at an approval gate looks unlike a pending one and says what it waits for', async () => {
    const yaml = [
      'name: gate-look',
      'jobs:',
      '  - id: build',
      '    command: "echo built"',
      '  - id: ship',
      '    command: "echo shipped"',
      '    depends_on: [build]',
      '    approval: { message: "ship v2 to production?" }',
      '  - id: announce',
      '    command: "echo announced"',
      '    depends_on: [ship]',
      '',
    ].join('\n');
    const { dagId } = await post<{ dagId: string }>('/api/v1/dags', { yaml });
    await go(`#/dags/${dagId}`);
    const ship = page.locator('g.node[data-node=ship]');
    const announce = page.locator('g.node[data-node=announce]');
    await page.locator('g.node[data-node=ship][data-gated=true]').waitFor();
    assert.equal(await ship.getAttribute('data-state'), 'pending');
    assert.equal(await announce.getAttribute('data-state'), 'pending', 'both are pending to the scheduler');
    assert.equal(await announce.getAttribute('data-gated'), null, 'only the gated one is marked');
    const look = (node: typeof ship): Promise<{ fill: string | null; dash: string | null; icon: number; note: string | null }> =>
      node.evaluate((g) => ({
        fill: g.querySelector('rect')?.getAttribute('fill') ?? null,
        dash: g.querySelector('rect')?.getAttribute('stroke-dasharray') ?? null,
        icon: g.querySelectorAll('.gate-icon').length,
        note: g.querySelector('.node-note')?.textContent ?? null,
      }));
    const gated = await look(ship);
    const pending = await look(announce);
    assert.deepEqual(gated, { fill: '#fff3c4', dash: '6 3', icon: 1, note: 'awaiting approval' });
    assert.deepEqual(pending, { fill: '#9aa5b1', dash: null, icon: 0, note: 'pending' });
    assert.equal(await ship.locator('title').textContent(), 'waits for approval: ship v2 to production?');
    await ship.click();
    await page.getByTestId('node-gate').filter({ hasText: 'Waits for approval: “ship v2 to production?”' }).waitFor();
    await screenshot(page, 'approval-gate');
    await announce.click();
    await page.getByTestId('node-state').filter({ hasText: 'pending' }).waitFor();
    assert.equal(await page.getByTestId('node-gate').count(), 0, 'a merely pending node claims no gate');
    await go(`#/jobs/${dagId}.ship`);
    await page.getByTestId('job-gate').filter({ hasText: 'ship v2 to production?' }).waitFor();
    await page.getByTestId('approve').click();
    await page.getByTestId('job-state').filter({ hasText: 'succeeded' }).waitFor({ timeout: 20_000 });
    assert.equal(await page.getByTestId('job-gate').count(), 0, 'approved: no longer waiting');
    assert.deepEqual(faults, [], 'no console error or failed request on any page');
  });
});

/** Thresholds a busy machine cannot trip by itself (as in e2e-inference). */
const CONFIG = {
  weights: { rtt: 0.05 },
  health: { degradeCpuPct: 100, recoverCpuPct: 100, degradeRamFreeMb: 0, recoverRamFreeMb: 0, openMs: 60_000, halfOpenMs: 120_000 },
};

describe("the dashboard's inference agents page, live against real agents", () => {
  const cluster = new InferenceCluster();
  let browser: Browser;
  let roomyServer: OllamaHandle;

  before(async () => {
    await cluster.startMaster(CONFIG);
    roomyServer = await cluster.startOllama('llama3:8b=4700');
    await cluster.startAgent('gpu-roomy', { ollama: roomyServer, vramTotalMb: 16_384, vramFreeMb: 12_288, maxConcurrency: 4 });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await cluster.close();
  });

  test('shows models, VRAM, load, RTT, tokens/s and breaker state, and follows them as they change without a reload', async () => {
    const page = await openDashboard(browser, cluster.httpPort);
    const faults = watchForFaults(page);
    await page.getByTestId('nav-inference').click();
    const roomy = page.locator('[data-agent=gpu-roomy]');
    await roomy.waitFor();
    const cell = async (id: string): Promise<string> => ((await roomy.getByTestId(id).textContent()) ?? '').trim();
    assert.equal(await cell('agent-models'), 'llama3:8b');
    assert.equal(await cell('agent-vram'), '12.0 GiB free / 16.0 GiB');
    assert.match(await cell('agent-load'), /^0\/4 runningCPU [\d.]+%$/);
    assert.match(await cell('agent-rtt'), /^[\d.]+ ms$/);
    assert.equal(await cell('agent-tps'), '-', 'no generation yet');
    assert.equal(await cell('agent-status'), 'healthy');
    assert.equal(await cell('agent-breaker'), 'closed');

    // A generation through the agent: its tokens/s and request count appear on the open page.
    const grant = (await (
      await cluster.rest('/api/v1/inference/request', { method: 'POST', body: JSON.stringify({ model: 'llama3:8b', prompt: 'hi', max_tokens: 8 }) })
    ).json()) as { agent_id: string; token: string; generate_url: string; model: string };
    assert.equal(grant.agent_id, 'gpu-roomy');
    const ok = await fetch(grant.generate_url, {
      method: 'POST',
      headers: { authorization: `Bearer ${grant.token}` },
      body: JSON.stringify({ model: grant.model, prompt: 'hi', stream: false }),
    });
    assert.equal(ok.status, 200);
    await roomy
      .getByTestId('agent-tps')
      .filter({ hasText: /^\d+(\.\d)?$/ })
      .waitFor();
    await roomy.getByTestId('agent-requests').filter({ hasText: '1/0' }).waitFor();

    // The roomy agent starts failing: three failures open its breaker, and the page shows it.
    // It is still the only agent, so every request is routed to it.
    await roomyServer.control({ failMode: 'error' });
    for (let i = 0; i < 3; i++) {
      const g = (await (
        await cluster.rest('/api/v1/inference/request', { method: 'POST', body: JSON.stringify({ model: 'llama3:8b', prompt: 'hi', max_tokens: 8 }) })
      ).json()) as { agent_id: string; token: string; generate_url: string; model: string };
      assert.equal(g.agent_id, 'gpu-roomy', 'the only agent serves the request');
      await fetch(g.generate_url, {
        method: 'POST',
        headers: { authorization: `Bearer ${g.token}` },
        body: JSON.stringify({ model: g.model, prompt: 'hi', stream: false }),
      });
      await until(
        `failure ${i + 1} to reach the master`,
        async () => (await cluster.agents()).find((a) => a.agent_id === 'gpu-roomy')?.requests.failure === i + 1,
      );
    }
    await roomy.getByTestId('agent-breaker').filter({ hasText: 'open' }).waitFor();
    await roomy.getByTestId('agent-status').filter({ hasText: 'offline' }).waitFor();

    // A second agent joins: its row appears, with its own breaker closed.
    const tightServer = await cluster.startOllama('llama3:8b=4700');
    await cluster.startAgent('gpu-tight', { ollama: tightServer, vramTotalMb: 8192, vramFreeMb: 6144, maxConcurrency: 2 });
    await page.locator('[data-agent=gpu-tight] [data-testid=agent-vram]').filter({ hasText: '6.0 GiB free / 8.0 GiB' }).waitFor();
    assert.equal(await page.locator('[data-agent=gpu-tight] [data-testid=agent-breaker]').textContent(), 'closed');
    await page.getByTestId('agents-live').filter({ hasText: '1/2' }).waitFor();
    await screenshot(page, 'inference');
    assert.deepEqual(faults, [], 'no console error or failed request');
    await page.close();
  });
});
