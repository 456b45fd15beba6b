/**
 * The finish reports a worker holds that the master has not acknowledged, kept in the work dir
 * (`reports.json`). A worker killed after a job ended but before the master heard of it would
 * otherwise come back holding nothing, and the master would run a completed job again. Started
 * again on the same work dir, the worker holds these attempts once more and reports them.
 *
 * The file is rewritten (write, then rename) once per turn of the event loop that changed it,
 * before that turn's frames leave the process. The page cache is enough: the case is the
 * worker's death, not the machine's.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Logger } from '../common/log.js';
import type { JobFinishedReport } from '../protocol/messages.js';

const key = (jobId: string, attempt: number): string => `${jobId}/${attempt}`;

export class ReportJournal {
  private readonly reports = new Map<string, JobFinishedReport>();
  private flushScheduled = false;

  constructor(
    readonly file: string,
    private readonly log: Logger,
  ) {}

  /** The reports a previous life of this worker left unacknowledged; an unreadable file counts as none. */
  load(): JobFinishedReport[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ file: this.file, err }, 'could not read the unacknowledged finish reports');
      return [];
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      const reports = Array.isArray(parsed) ? parsed.filter(isReport) : [];
      for (const report of reports) this.reports.set(key(report.jobId, report.attempt), report);
      return reports;
    } catch (err) {
      this.log.warn({ file: this.file, err }, 'the unacknowledged finish reports file is not JSON; starting without it');
      return [];
    }
  }

  keep(report: JobFinishedReport): void {
    this.reports.set(key(report.jobId, report.attempt), report);
    this.scheduleFlush();
  }

  drop(jobId: string, attempt: number): void {
    if (this.reports.delete(key(jobId, attempt))) this.scheduleFlush();
  }

  /** Writes pending changes now (the worker's clean exit). */
  flush(): void {
    this.flushScheduled = false;
    const tmp = `${this.file}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify([...this.reports.values()]), { mode: 0o600 });
      renameSync(tmp, this.file);
    } catch (err) {
      this.log.warn({ file: this.file, err }, 'could not record the unacknowledged finish reports; a crash now would run those jobs again');
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }
}

function isReport(value: unknown): value is JobFinishedReport {
  const r = value as Partial<JobFinishedReport> | null;
  return typeof r === 'object' && r !== null && typeof r.jobId === 'string' && typeof r.attempt === 'number';
}
