import { ErrorCode, TitanError } from '../../common/errors.js';
import { findCycles } from '../../common/cycles.js';
import { DEFAULT_REQUIREMENT, GENERAL } from '../../core/requirement.js';

/**
 * The job lines of the original Titan's OP_SUBMIT_DAG / OP_SUBMIT_JOB payload, parsed into typed
 * jobs. Pure: no store, no clock. Fields are split on `|` without escaping, as the original SDK
 * writes them (it replaces `|` in args with spaces); jobs are joined by ` ; `.
 */

export const LEGACY_JOB_KINDS = ['RUN_PAYLOAD', 'DEPLOY_PAYLOAD', 'RUN_ARCHIVE', 'START_ARCHIVE_SERVICE'] as const;
export type LegacyJobKind = (typeof LEGACY_JOB_KINDS)[number];

export interface LegacyJob {
  /** The submitted ID without the `DAG-` prefix the original adds (it is added back in names). */
  readonly id: string;
  readonly kind: LegacyJobKind;
  /** The script's file name (payload kinds) or `archive.zip/entry` (archive kinds). */
  readonly file: string;
  /** Archive kinds: the uploaded archive's name and the entry inside it to run. */
  readonly archive: { readonly name: string; readonly entry: string } | null;
  /** Split on whitespace, as the original worker split them. */
  readonly args: readonly string[];
  /** The script's bytes (payload kinds). */
  readonly script: Buffer | null;
  /** Services only. */
  readonly port: number | null;
  readonly requirement: readonly string[];
  readonly priority: number;
  readonly delayMs: number;
  /** Parent IDs, without `DAG-` prefixes. */
  readonly parents: readonly string[];
  readonly affinity: boolean;
}

type Field = 'file' | 'args' | 'script' | 'port' | 'req';

/** The fields between `ID|KIND` and the common tail `PRIORITY|DELAY_MS|[PARENTS]`. */
const LAYOUTS: Record<LegacyJobKind, readonly Field[]> = {
  RUN_PAYLOAD: ['file', 'args', 'script', 'req'],
  DEPLOY_PAYLOAD: ['file', 'script', 'port', 'req'],
  RUN_ARCHIVE: ['file', 'args', 'req'],
  START_ARCHIVE_SERVICE: ['file', 'args', 'port', 'req'],
};

const FORMS: Record<LegacyJobKind, string> = {
  RUN_PAYLOAD: 'ID|RUN_PAYLOAD|file|args|<base64 of the script>|REQ|PRIORITY|DELAY_MS|[P1,P2]',
  DEPLOY_PAYLOAD: 'ID|DEPLOY_PAYLOAD|file|<base64 of the script>|PORT|REQ|PRIORITY|DELAY_MS|[P1,P2]',
  RUN_ARCHIVE: 'ID|RUN_ARCHIVE|project.zip/entry.py|args|REQ|PRIORITY|DELAY_MS|[P1,P2]',
  START_ARCHIVE_SERVICE: 'ID|START_ARCHIVE_SERVICE|project.zip/entry.py|args|PORT|REQ|PRIORITY|DELAY_MS|[P1,P2]',
};

const ID = /^[A-Za-z0-9._-]{1,100}$/;
const TAG = /^[A-Za-z0-9_-]{1,64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_DELAY_MS = 30 * 86_400_000;
// A job ends with its parent list (and maybe a flag), so only a `;` right after one separates jobs.
const JOB_SEPARATOR = /(?<=\](?:\s*\|\s*(?:AFFINITY|STICKY))?)\s*;\s*/;

function refuse(message: string): TitanError {
  return new TitanError(ErrorCode.INVALID_REQUEST, message);
}

/** Parses a whole submission: every job, then the checks across jobs (unique IDs, known parents, no cycle). */
export function parseLegacyDag(payload: string): LegacyJob[] {
  const lines = payload
    .split(JOB_SEPARATOR)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (lines.length === 0) throw refuse(`the submission holds no job; send jobs like ${FORMS.RUN_PAYLOAD}, joined by " ; "`);
  const jobs = lines.map((line, i) => parseLegacyJob(line, i + 1));
  checkGraph(jobs);
  return jobs;
}

/** One job line; `position` (1-based) names it in errors until its ID is known. */
export function parseLegacyJob(line: string, position = 1): LegacyJob {
  const fields = line
    .trim()
    .split('|')
    .map((f) => f.trim());
  let affinity = false;
  const last = fields[fields.length - 1];
  if (last === 'AFFINITY' || last === 'STICKY') {
    affinity = true;
    fields.pop();
  }
  const rawId = fields[0] ?? '';
  const where = rawId === '' ? `job ${position}` : `job ${position} (${rawId})`;
  const kind = fields[1] ?? '';
  if (!isKind(kind)) {
    throw refuse(
      `${where}: the second field must be one of ${LEGACY_JOB_KINDS.join(', ')}, got ${JSON.stringify(kind.slice(0, 40))}; the form is ${FORMS.RUN_PAYLOAD}`,
    );
  }
  const layout = LAYOUTS[kind];
  const expected = 2 + layout.length + 3;
  if (fields.length !== expected) {
    throw refuse(
      `${where}: ${kind} takes ${expected} fields separated by "|" (${FORMS[kind]}, optionally followed by |AFFINITY), got ${fields.length}; ` +
        'a "|" inside args must be replaced (the original SDK replaces it with a space), and jobs are joined by " ; "',
    );
  }
  const id = jobId(rawId, where, 'ID');
  const at = (name: Field): string => fields[2 + layout.indexOf(name)] ?? '';
  const tail = fields.slice(2 + layout.length);
  const file = layout.includes('file') ? at('file') : '';
  const archive = kind === 'RUN_ARCHIVE' || kind === 'START_ARCHIVE_SERVICE' ? archiveRef(file, where) : null;
  if (archive === null) checkFileName(file, where);
  return {
    id,
    kind,
    file,
    archive,
    args: layout.includes('args')
      ? at('args')
          .split(/\s+/)
          .filter((a) => a.length > 0)
      : [],
    script: layout.includes('script') ? script(at('script'), where) : null,
    port: layout.includes('port') ? port(at('port'), where) : null,
    requirement: requirement(at('req'), where),
    priority: integer(tail[0] ?? '', where, 'PRIORITY', -1000, 1000),
    delayMs: integer(tail[1] ?? '', where, 'DELAY_MS', 0, MAX_DELAY_MS),
    parents: parents(tail[2] ?? '', where),
    affinity,
  };
}

function isKind(value: string): value is LegacyJobKind {
  return (LEGACY_JOB_KINDS as readonly string[]).includes(value);
}

/** The original names jobs `DAG-<ID>` and accepts IDs given with that prefix already. */
function jobId(raw: string, where: string, what: string): string {
  const id = raw.startsWith('DAG-') ? raw.slice(4) : raw;
  if (!ID.test(id)) throw refuse(`${where}: ${what} ${JSON.stringify(raw.slice(0, 120))} must be 1-100 letters, digits, ".", "_" or "-"`);
  return id;
}

function checkFileName(file: string, where: string): void {
  if (file === '' || file === '.' || file === '..' || file.length > 255 || /[/\\\p{Cc}]/u.test(file)) {
    throw refuse(`${where}: file ${JSON.stringify(file.slice(0, 120))} must be a plain file name like job.py (no folders)`);
  }
}

function archiveRef(file: string, where: string): { name: string; entry: string } {
  const cut = file.indexOf('.zip/');
  const name = cut < 0 ? '' : file.slice(0, cut + 4);
  const entry = cut < 0 ? '' : file.slice(cut + 5);
  const parts = entry.split('/');
  if (name === '' || entry === '' || entry.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..') || /[\\\p{Cc}]/u.test(file)) {
    throw refuse(`${where}: ${JSON.stringify(file.slice(0, 120))} must name an uploaded archive and the file to run in it, like project.zip/main.py`);
  }
  return { name, entry };
}

function script(b64: string, where: string): Buffer {
  return decodeBase64(b64, `${where}: the script`);
}

/** Strict standard base64 (as Python's b64encode and Java's encoder write it), decoded. */
export function decodeBase64(b64: string, what: string): Buffer {
  if (!BASE64.test(b64)) throw refuse(`${what} is not valid base64 (standard alphabet, padded); send the file's bytes base64-encoded`);
  return Buffer.from(b64, 'base64');
}

function port(value: string, where: string): number {
  return integer(value, where, 'PORT', 0, 65535);
}

function integer(value: string, where: string, what: string, min: number, max: number): number {
  const n = /^-?\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw refuse(`${where}: ${what} must be an integer ${min}..${max}, got ${JSON.stringify(value.slice(0, 40))}`);
  return n;
}

function requirement(value: string, where: string): string[] {
  const tags = value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  const bad = tags.find((t) => !TAG.test(t));
  if (bad !== undefined)
    throw refuse(`${where}: requirement ${JSON.stringify(bad.slice(0, 70))} must be a tag of letters, digits, "_" or "-" (like ${GENERAL} or GPU)`);
  return tags.length > 0 ? tags : [...DEFAULT_REQUIREMENT];
}

function parents(value: string, where: string): string[] {
  const match = /^\[(.*)\]$/s.exec(value);
  if (match === null) throw refuse(`${where}: the last field must be the parent list, like [] or [A,B], got ${JSON.stringify(value.slice(0, 60))}`);
  const inner = (match[1] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  return inner.map((p) => jobId(p, where, 'parent'));
}

function checkGraph(jobs: readonly LegacyJob[]): void {
  const byId = new Map<string, LegacyJob>();
  for (const job of jobs) {
    if (byId.has(job.id)) throw refuse(`two jobs share the ID ${job.id}; IDs must be unique within a submission`);
    byId.set(job.id, job);
  }
  for (const job of jobs) {
    const missing = job.parents.find((p) => !byId.has(p));
    if (missing !== undefined) {
      throw refuse(
        `job ${job.id} depends on ${missing}, which is not in this submission (defined: ${[...byId.keys()].slice(0, 10).join(', ')}); ` +
          'submit a job together with the parents it waits for',
      );
    }
  }
  const [cycle] = findCycles(
    jobs.map((j) => j.id),
    (id) => byId.get(id)?.parents ?? [],
  );
  if (cycle !== undefined) throw refuse(`the jobs form a cycle (${cycle.join(' -> ')}, each waiting for the next); a DAG must have none`);
}
