import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { silentLogger } from '../common/silent-log.js';
import type { JobFinishedReport } from '../protocol/messages.js';
import { ReportJournal } from './report-journal.js';

function journalIn(t: { after: (fn: () => void) => void }): { file: string; open: () => ReportJournal } {
  const dir = mkdtempSync(join(tmpdir(), 'titan-journal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'reports.json');
  return { file, open: () => new ReportJournal(file, silentLogger()) };
}

const report = (jobId: string, attempt: number): JobFinishedReport => ({ jobId, attempt, exitCode: 0, signal: null, durationMs: 5, timedOut: false });

test('a report kept and not dropped is there for the next life of the worker, once the turn that kept it ends', async (t) => {
  const { file, open } = journalIn(t);
  const journal = open();
  journal.keep(report('a', 1));
  journal.keep(report('b', 2));
  journal.drop('b', 2);
  await nextTurn();
  assert.deepEqual(open().load(), [report('a', 1)]);
  assert.equal(statSync(file).mode & 0o777, 0o600, "job results are the worker owner's to read");
});

test('dropping what was never kept changes nothing; a later attempt is its own entry', async (t) => {
  const { open } = journalIn(t);
  const journal = open();
  journal.keep(report('a', 1));
  journal.drop('a', 2);
  journal.keep(report('a', 2));
  journal.flush();
  assert.deepEqual(open().load(), [report('a', 1), report('a', 2)]);
});

test('no file, or a file that is not a list of reports, is read as no reports', (t) => {
  const { file, open } = journalIn(t);
  assert.deepEqual(open().load(), []);
  writeFileSync(file, '{not json');
  assert.deepEqual(open().load(), []);
  writeFileSync(file, JSON.stringify([{ jobId: 'a', attempt: 1, exitCode: 0 }, { nonsense: true }, 7]));
  assert.deepEqual(open().load(), [{ jobId: 'a', attempt: 1, exitCode: 0 }]);
});
