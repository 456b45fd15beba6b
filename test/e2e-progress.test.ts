import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DagStatusView } from '../src/protocol/views.js';
import { clusterForSuite } from './harness.js';

/** root → `width` jobs → sink, each `true` (one of the middle jobs `false` when `failing`). */
function fanPipeline(dir: string, width: number, failing = false): string {
  mkdirSync(dir, { recursive: true });
  const middle = Array.from({ length: width }, (_, i) => `  - { id: m${i}, command: "${failing && i === 0 ? 'false' : 'true'}", depends_on: [root] }`);
  const sink = `  - { id: sink, command: "true", depends_on: [${Array.from({ length: width }, (_, i) => `m${i}`).join(', ')}] }`;
  const file = join(dir, `fan-${width}${failing ? '-failing' : ''}.yaml`);
  writeFileSync(file, ['name: fan', 'jobs:', '  - { id: root, command: "true" }', ...middle, sink, ''].join('\n'));
  return file;
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

describe('--wait on a pipe and with --json: progress by run state, not by job', () => {
  const suite = clusterForSuite('w1');
  const cluster = suite.cluster;

  test('a 1 → 40 → 1 run prints a line per state of the run and a two-line summary, not a row per job', async () => {
    const run = await cluster.cli(['dag', fanPipeline(join(cluster.dir, 'fan'), 40), '--wait']);
    assert.equal(run.code, 0, run.stderr);
    const progress = lines(run.stderr);
    // "submitted", then at most "waiting" and "running": the 42 jobs make no line of their own.
    assert.ok(progress.length <= 3, progress.join('\n'));
    assert.match(progress[0] ?? '', /^DAG d\w+ submitted with 42 job\(s\)$/);
    for (const line of progress.slice(1)) assert.match(line, /^DAG d\w+: (waiting|running) \(\d+\/42 done/);
    assert.deepEqual(
      lines(run.stdout).map((l) => l.replace(/ in .*$/, '')),
      [`${/^DAG d\w+ "fan"/.exec(run.stdout)?.[0] ?? 'DAG ?'}: succeeded (42/42 jobs final, 0 failed)`, '42 succeeded'],
    );
  });

  test('a run with a failed job lists that job alone under the summary', async () => {
    const run = await cluster.cli(['dag', fanPipeline(join(cluster.dir, 'fan'), 10, true), '--wait']);
    assert.equal(run.code, 1, run.stderr);
    const out = lines(run.stdout);
    assert.match(out[0] ?? '', /: failed \(/);
    assert.match(out[1] ?? '', /^10 succeeded · 1 failed · 1 skipped in /);
    const rows = out.slice(3).map((l) => l.split(/\s+/)[0]);
    assert.ok(rows.includes('m0'), run.stdout);
    assert.ok(!rows.some((key) => /^m[1-9]$/.test(key ?? '')), `succeeded jobs are not listed:\n${run.stdout}`);
    assert.ok(rows.includes('sink'), 'the skipped sink is listed too');
    assert.ok(lines(run.stderr).length <= 4, run.stderr);
  });

  test('--json prints one JSON document at the end and no progress', async () => {
    const run = await cluster.cli(['dag', fanPipeline(join(cluster.dir, 'fan'), 5), '--wait', '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    const doc = JSON.parse(run.stdout) as DagStatusView;
    assert.equal(doc.dag.state, 'succeeded');
    assert.equal(doc.jobs.length, 7);
  });

  test('titan run --wait on a pipe prints the job output and a line per state, then the outcome', async () => {
    const run = await cluster.cli(['run', '--wait', '--', 'sh', '-c', 'for i in 1 2 3 4 5; do echo line $i; done']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(lines(run.stdout), ['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
    const progress = lines(run.stderr);
    assert.match(progress.at(-1) ?? '', /^job \w+ succeeded \(exit 0\) after 1 attempt/);
    // queued, assigned, running, succeeded at most, each once.
    const states = progress.slice(0, -1).map((l) => /^… (\w+)/.exec(l)?.[1]);
    assert.equal(new Set(states).size, states.length, progress.join('\n'));
    assert.ok(states.length <= 4, progress.join('\n'));
    const json = await cluster.cli(['run', '--wait', '--json', '--', 'echo', 'quiet']);
    assert.equal(json.stderr, '');
    assert.equal((JSON.parse(json.stdout) as { state: string }).state, 'succeeded');
  });

  test('a run whose failed job was handled by on_failure counts that failure, beside the handler that ran', async () => {
    const dir = join(cluster.dir, 'handled');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'handled.yaml');
    writeFileSync(file, 'name: handled\njobs:\n  - { id: risky, command: "false", on_failure: cleanup }\n  - { id: cleanup, command: "true" }\n');
    const run = await cluster.cli(['dag', file, '--wait']);
    const out = lines(run.stdout);
    assert.match(out[0] ?? '', /\(2\/2 jobs final, 1 failed/, run.stdout);
    assert.match(out[1] ?? '', /^1 succeeded · 1 failed in /);
    if (/: succeeded /.test(out[0] ?? '')) assert.match(out[0] ?? '', /1 failed and handled/);
  });
});
