/**
 * The finish reports a worker holds that the master has not acknowledged, kept in the work dir
 * (`reports.jsonl`). A worker killed after a job ended but before the master heard of it would
 * otherwise come back holding nothing, and the master would run a completed job again. Started
 * again on the same work dir, the worker holds these attempts once more and reports them.
 *
 * The file is a log appended to through one open descriptor: a kept report is one line written
 * before the report leaves the process, an acknowledgement another. One `write` costs a few
 * microseconds; rewriting and renaming a whole file cost about 0.2 ms twice per job, on the path
 * of every result. The page cache is enough: the case is the worker's death, not the machine's.
 * The log is cut back to nothing whenever no report is outstanding (one more call of the same
 * cost), and rewritten to the live reports at start or when a long master outage lets it grow.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import type { Logger } from '../common/log.js';
import type { JobFinishedReport } from '../protocol/messages.js';

/** With reports outstanding, a log longer than this is rewritten to hold only them. */
const COMPACT_BYTES = 4 * 1024 * 1024;

type Entry = ['kept', JobFinishedReport] | ['acknowledged', string, number];

const key = (jobId: string, attempt: number): string => `${jobId}/${attempt}`;

export class ReportJournal {
  private readonly reports = new Map<string, JobFinishedReport>();
  private fd: number | null = null;
  private bytes = 0;
  private warned = false;

  /** `file` is the log; a `.json` file of the same name is an older worker's journal, read once and removed. */
  constructor(
    readonly file: string,
    private readonly log: Logger,
  ) {}

  /** The reports a previous life of this worker left unacknowledged; unreadable lines count as none. Opens the log. */
  load(): JobFinishedReport[] {
    const legacy = this.readLegacyFile();
    for (const line of this.readLines()) this.replay(line);
    this.rewrite();
    if (legacy !== null && this.fd !== null) rmSync(legacy, { force: true });
    return [...this.reports.values()];
  }

  keep(report: JobFinishedReport): void {
    this.reports.set(key(report.jobId, report.attempt), report);
    this.append(['kept', report]);
  }

  drop(jobId: string, attempt: number): void {
    if (!this.reports.delete(key(jobId, attempt))) return;
    if (this.reports.size === 0) this.truncate();
    else this.append(['acknowledged', jobId, attempt]);
  }

  /** Closes the log (the worker's clean exit); what was written stays. */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private append(entry: Entry): void {
    if (this.fd === null) return;
    const line = `${JSON.stringify(entry)}\n`;
    try {
      this.bytes += writeSync(this.fd, line);
    } catch (err) {
      this.warnOnce(err);
      return;
    }
    if (this.bytes > COMPACT_BYTES) this.rewrite();
  }

  private truncate(): void {
    if (this.fd === null) return;
    try {
      ftruncateSync(this.fd, 0);
      this.bytes = 0;
    } catch (err) {
      this.warnOnce(err);
    }
  }

  /** Writes the live reports to a fresh log, renames it into place and appends to it from now on. */
  private rewrite(): void {
    this.close();
    const tmp = `${this.file}.tmp`;
    const text = [...this.reports.values()].map((report) => `${JSON.stringify(['kept', report] satisfies Entry)}\n`).join('');
    try {
      writeFileSync(tmp, text, { mode: 0o600 });
      renameSync(tmp, this.file);
      this.fd = openSync(this.file, 'a', 0o600);
      this.bytes = Buffer.byteLength(text);
    } catch (err) {
      this.warnOnce(err);
    }
  }

  private replay(line: string): void {
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      return; // a line cut short by the death of the worker that wrote it
    }
    if (!Array.isArray(entry)) return;
    if (entry[0] === 'kept' && isReport(entry[1])) this.reports.set(key(entry[1].jobId, entry[1].attempt), entry[1]);
    if (entry[0] === 'acknowledged' && typeof entry[1] === 'string' && typeof entry[2] === 'number') this.reports.delete(key(entry[1], entry[2]));
  }

  private readLines(): string[] {
    const text = this.readIfThere(this.file);
    return text === null ? [] : text.split('\n').filter((line) => line !== '');
  }

  /** Reads an older worker's `reports.json`; returns its path when there was one. */
  private readLegacyFile(): string | null {
    const legacy = this.file.replace(/\.jsonl$/, '.json');
    if (legacy === this.file) return null;
    const text = this.readIfThere(legacy);
    if (text === null) return null;
    try {
      const parsed = JSON.parse(text) as unknown;
      for (const report of Array.isArray(parsed) ? parsed.filter(isReport) : []) this.reports.set(key(report.jobId, report.attempt), report);
    } catch (err) {
      this.log.warn({ file: legacy, err }, 'the unacknowledged finish reports file is not JSON; starting without it');
    }
    return legacy;
  }

  private readIfThere(file: string): string | null {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ file, err }, 'could not read the unacknowledged finish reports');
      return null;
    }
  }

  private warnOnce(err: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.log.warn({ file: this.file, err }, 'could not record the unacknowledged finish reports; a crash now would run those jobs again');
  }
}

function isReport(value: unknown): value is JobFinishedReport {
  const r = value as Partial<JobFinishedReport> | null;
  return typeof r === 'object' && r !== null && typeof r.jobId === 'string' && typeof r.attempt === 'number';
}
