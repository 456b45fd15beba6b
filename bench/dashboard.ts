/**
 * The dashboard in Debian's chromium (playwright-core): how long the overview takes to show a
 * master with 10,000 jobs in its history, and how fast the live log view follows a job printing
 * 5,000 lines a second (every line must arrive).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { newJob, type JobSpec } from '../src/core/job.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import type { JobWrite } from '../src/store/store.js';
import { BENCH_TOKEN, BenchCluster } from './cluster.js';
import { Deadline, now, percentile, round } from './measure.js';

const HISTORY_JOBS = 10_000;
const LOADS = 5;
const FOLLOW_RATE = 5_000;
const FOLLOW_SECONDS = 6;

export interface DashboardFigures {
  readonly loadMs: number;
  readonly loadSamplesMs: number[];
  readonly followLinesPerS: number;
  readonly followLines: number;
  readonly followLinesShown: number;
  readonly jobPrintRate: number;
  /** A finished 100,000-line log: page open → every line in the view. */
  readonly bigLogLoadMs: number;
  /** Scroll to the middle of it → that line painted. */
  readonly bigLogScrollMs: number;
  /** Log rows in the DOM while 100,000 lines are loaded (the virtualisation at work). */
  readonly bigLogDomRows: number;
}

/** Debian's chromium: found, or installed with apt-get by scripts/ensure-chromium.mjs (as the tests do). */
export function findChromium(): string | undefined {
  const script = fileURLToPath(new URL('../../scripts/ensure-chromium.mjs', import.meta.url));
  const found = spawnSync(process.execPath, [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** 10,000 finished jobs written through the store, as a master that ran them would have left them. */
function seedHistory(dataDir: string): void {
  const store = SqliteStore.open(join(dataDir, 'titan.db'));
  try {
    const spec: JobSpec = {
      name: 'history',
      run: { kind: 'command', command: 'true' },
      args: [],
      env: {},
      requirement: ['GENERAL'],
      priority: 0,
      retries: 0,
      timeoutSeconds: 0,
    };
    const t0 = Date.now() - 3_600_000;
    for (let base = 0; base < HISTORY_JOBS; base += 1000) {
      const batch: JobWrite[] = [];
      for (let i = base; i < base + 1000; i++) {
        const at = t0 + i * 300;
        const job = {
          ...newJob(`hist-${i}`, { ...spec, name: `history-${i % 50}` }, i + 1, at, i % 20 === 0 ? 'failed' : 'succeeded'),
          attempt: 1,
          workerId: 'old-worker',
          startedAt: at + 5,
          finishedAt: at + 50,
          exitCode: i % 20 === 0 ? 1 : 0,
        };
        batch.push({ job, event: { jobId: job.id, at: at + 50, from: 'running', to: job.state, attempt: 1, workerId: 'old-worker', detail: null } });
      }
      store.writeJobs(batch);
    }
  } finally {
    store.close();
  }
}

async function signedInPage(browser: Browser, url: string): Promise<Page> {
  // The bench's probes are page-side expressions, which the dashboard's CSP (no eval) would refuse.
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, bypassCSP: true });
  await context.addInitScript(`localStorage.setItem('titan.token', ${JSON.stringify(BENCH_TOKEN)})`);
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(`${url}/`);
  return page;
}

/** Navigation start → the overview shows the workers and the job counts (10,000 in the history). */
async function overviewLoadMs(browser: Browser, url: string): Promise<number> {
  // The bench's probes are page-side expressions, which the dashboard's CSP (no eval) would refuse.
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, bypassCSP: true });
  try {
    await context.addInitScript(`localStorage.setItem('titan.token', ${JSON.stringify(BENCH_TOKEN)})`);
    const page = await context.newPage();
    const t0 = now();
    await page.goto(`${url}/`);
    await page.waitForFunction(
      `(() => { const rows = document.querySelectorAll('[data-testid=workers] tbody tr').length; const text = document.body.innerText; return rows === 2 && text.includes('${(HISTORY_JOBS - HISTORY_JOBS / 20).toLocaleString('en-US')}') && document.querySelector('[data-testid=throughput-chart]') !== null; })()`,
      undefined,
      { timeout: 30_000, polling: 'raf' },
    );
    return now() - t0;
  } finally {
    await context.close();
  }
}

/** A job printing `rate` lines a second for `seconds`, paced by the clock so the rate holds. */
function printerCommand(rate: number, seconds: number): string {
  const total = rate * seconds;
  const script = `let n=0;const t0=Date.now();const tick=()=>{const due=Math.min(${total},Math.floor((Date.now()-t0)*${rate}/1000));let s='';while(n<due){n++;s+='line '+n+' of ${total}\\n';}if(s)process.stdout.write(s);if(n<${total})setTimeout(tick,5);};tick();`;
  return `node -e "${script}"`;
}

const BIG_LOG = 100_000;

async function bigLog(
  page: Page,
  client: Awaited<ReturnType<BenchCluster['client']>>,
): Promise<{ bigLogLoadMs: number; bigLogScrollMs: number; bigLogDomRows: number }> {
  const { jobId } = await client.submit({ command: `seq 1 ${BIG_LOG}`, name: 'big-log' });
  await client.wait(jobId, { timeout: 60_000 });
  const t0 = now();
  await page.evaluate(`window.location.hash = '#/jobs/${jobId}'`);
  await page.waitForFunction(`document.querySelector('[data-testid=log-count]')?.getAttribute('data-count') === '${BIG_LOG}'`, undefined, {
    timeout: 60_000,
    polling: 'raf',
  });
  const bigLogLoadMs = now() - t0;
  const scroll = (await page.evaluate(`new Promise((resolve) => {
    const box = document.querySelector('[data-testid=log-box]');
    box.scrollTop = box.scrollHeight / 2;
    const t0 = performance.now();
    const poll = () => {
      const shown = [...document.querySelectorAll('.log-line')].some((row) => /^\\d+${Math.floor(BIG_LOG / 2)}$/.test(row.textContent ?? ''));
      if (shown || performance.now() - t0 > 10000) resolve({ ms: performance.now() - t0, rows: document.querySelectorAll('.log-line').length, shown });
      else requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
  })`)) as { ms: number; rows: number; shown: boolean };
  if (!scroll.shown) throw new Error('the middle of the 100,000-line log was not painted within 10 s of scrolling to it');
  return { bigLogLoadMs, bigLogScrollMs: scroll.ms, bigLogDomRows: scroll.rows };
}

export async function dashboardFigures(chromiumPath: string, limitMs: number): Promise<DashboardFigures> {
  const deadline = new Deadline('the dashboard bench', limitMs);
  const cluster = new BenchCluster();
  let browser: Browser | undefined;
  try {
    seedHistory(cluster.dataDir);
    await cluster.startMaster({ http: true });
    await cluster.startWorker('dash-w1', 4);
    await cluster.startWorker('dash-w2', 4);
    const url = `http://127.0.0.1:${cluster.httpPort}`;
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
    const samples: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      deadline.check();
      samples.push(await overviewLoadMs(browser, url));
    }

    const client = await cluster.client();
    const total = FOLLOW_RATE * FOLLOW_SECONDS;
    const page = await signedInPage(browser, url);
    const { jobId } = await client.submit({ command: printerCommand(FOLLOW_RATE, FOLLOW_SECONDS), name: 'printer' });
    await page.evaluate(`window.location.hash = '#/jobs/${jobId}'`);
    await page.getByTestId('log-count').waitFor();
    // Timestamps taken inside the page, per animation frame: first line shown, last line shown.
    const timing = (await page.evaluate(`new Promise((resolve) => {
      let first = null;
      const started = performance.now();
      const poll = () => {
        const count = Number(document.querySelector('[data-testid=log-count]')?.getAttribute('data-count') ?? 0);
        if (count > 0 && first === null) first = performance.now();
        if (count >= ${total} || performance.now() - started > ${Math.max(10_000, deadline.remainingMs - 5_000)}) resolve({ first, last: performance.now(), count });
        else requestAnimationFrame(poll);
      };
      poll();
    })`)) as { first: number | null; last: number; count: number };
    await client.wait(jobId, { timeout: 30_000 });
    const job = await client.status(jobId);
    await page.getByTestId('log-status').filter({ hasText: 'ended' }).waitFor({ timeout: 30_000 });
    const shown = Number(await page.getByTestId('log-count').getAttribute('data-count'));
    const big = await bigLog(page, client);
    const printSeconds = job.startedAt !== null && job.finishedAt !== null ? (job.finishedAt - job.startedAt) / 1000 : Number.NaN;
    const followSeconds = timing.first === null ? Number.NaN : (timing.last - timing.first) / 1000;
    return {
      loadMs: percentile(samples, 50),
      loadSamplesMs: samples.map((s) => round(s, 1)),
      followLinesPerS: timing.count / followSeconds,
      followLines: total,
      followLinesShown: shown,
      jobPrintRate: round(total / printSeconds),
      ...big,
    };
  } finally {
    await browser?.close();
    await cluster.close();
  }
}
