import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../common/silent-log.js';
import type { JobFinishedReport } from '../protocol/messages.js';
import { ReportJournal } from './report-journal.js';

interface Fixture {
  readonly file: string;
  readonly dir: string;
  /** A journal on the file, loaded (as the worker does at start) and closed after the test. */
  open: () => ReportJournal;
}

function journalIn(t: { after: (fn: () => void) => void }): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'titan-journal-'));
  const opened: ReportJournal[] = [];
  t.after(() => {
    for (const journal of opened) journal.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'reports.jsonl');
  return {
    file,
    dir,
    open: () => {
      const journal = new ReportJournal(file, silentLogger());
      opened.push(journal);
      return journal;
    },
  };
}

const report = (jobId: string, attempt: number): JobFinishedReport => ({ jobId, attempt, exitCode: 0, signal: null, durationMs: 5, timedOut: false });

test('a report kept and not acknowledged is there for the next life of the worker, as soon as it is kept', (t) => {
  const { file, open } = journalIn(t);
  const journal = open();
  journal.load();
  journal.keep(report('a', 1));
  journal.keep(report('b', 2));
  journal.drop('b', 2);
  // No turn of the loop passes: a worker killed right after sending the report has it on disk.
  assert.deepEqual(open().load(), [report('a', 1)]);
  assert.equal(statSync(file).mode & 0o777, 0o600, "job results are the worker owner's to read");
});

test('dropping what was never kept changes nothing; a later attempt is its own entry', (t) => {
  const { open } = journalIn(t);
  const journal = open();
  journal.load();
  journal.keep(report('a', 1));
  journal.drop('a', 2);
  journal.keep(report('a', 2));
  assert.deepEqual(open().load(), [report('a', 1), report('a', 2)]);
});

test('the log is cut back to nothing once no report is outstanding', (t) => {
  const { file, open } = journalIn(t);
  const journal = open();
  journal.load();
  for (let i = 0; i < 50; i++) journal.keep(report(`j${i}`, 1));
  for (let i = 0; i < 49; i++) journal.drop(`j${i}`, 1);
  assert.ok(statSync(file).size > 0);
  journal.drop('j49', 1);
  assert.equal(statSync(file).size, 0);
  journal.keep(report('next', 1));
  assert.deepEqual(open().load(), [report('next', 1)]);
});

test('loading rewrites the log to the outstanding reports only', (t) => {
  const { file, open } = journalIn(t);
  const first = open();
  first.load();
  first.keep(report('a', 1));
  first.keep(report('b', 1));
  first.drop('a', 1);
  first.close();
  assert.deepEqual(open().load(), [report('b', 1)]);
  assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 1);
});

test('a line cut short by a crash, or lines that are not entries, are skipped', (t) => {
  const { file, open } = journalIn(t);
  writeFileSync(file, `${JSON.stringify(['kept', report('a', 1)])}\n{not json\n7\n["kept",{"nonsense":true}]\n`);
  appendFileSync(file, JSON.stringify(['kept', report('b', 1)]).slice(0, 20));
  assert.deepEqual(open().load(), [report('a', 1)]);
});

test("an older worker's reports.json is read once, then removed", (t) => {
  const { dir, open } = journalIn(t);
  const legacy = join(dir, 'reports.json');
  writeFileSync(legacy, JSON.stringify([report('old', 3), { nonsense: true }]));
  assert.deepEqual(open().load(), [report('old', 3)]);
  assert.equal(existsSync(legacy), false);
  assert.deepEqual(open().load(), [report('old', 3)], 'what it held is in the new log now');
});

test('no file is no reports', (t) => {
  const { open } = journalIn(t);
  assert.deepEqual(open().load(), []);
});
