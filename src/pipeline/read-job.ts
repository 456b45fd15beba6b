import { isMap, isScalar } from 'yaml';
import {
  APPROVAL_KEYS,
  BACKOFF_TYPES,
  DEFAULT_RETRY_BACKOFF,
  DRIVER_NAMES,
  JOB_ID_PATTERN,
  JOB_KEYS,
  NETWORKS,
  RETRY_BACKOFF_KEYS,
  TRIGGER_RULES,
} from './pipeline.js';
import type { Approval, PipelineJob, RetryBackoff } from './pipeline.js';
import { readHitl, readJobType } from './read-hitl.js';
import { readResources } from './read-resources.js';
import { readArgs, readEnv, readNames, readRequirement } from './read-lists.js';
import type { Located } from './read-lists.js';
import { describe, isNull } from './yaml-reader.js';
import { parseInstant } from '../common/when.js';
import type { Entry, YamlReader } from './yaml-reader.js';
import { DEFAULT_REQUIREMENT } from '../core/requirement.js';

/** A job as read from the file, with the nodes the cross-job checks point at. */
export interface JobDraft {
  readonly job: PipelineJob;
  /** False when the id is missing or invalid (already reported); `job.id` is then a placeholder. */
  readonly hasId: boolean;
  readonly idNode: unknown;
  readonly parents: readonly Located[];
  readonly onFailure: Located | null;
}

/** Reads one item of `jobs`, reporting every problem in it; undefined when it is not a map at all. */
export function readJob(r: YamlReader, item: unknown, index: number): JobDraft | undefined {
  const node = r.resolve(item);
  if (!isMap(node)) {
    r.report(item, `job #${index + 1} must be a map of keys (id, type, file, ...), not ${describe(node)}`);
    return undefined;
  }
  const entries = r.entries(node);
  const fields = new Map<string, Entry>(entries.map((e) => [e.key, e]));
  const idEntry = fields.get('id');
  const id = readId(r, idEntry, item, index);
  const name = id === undefined ? `job #${index + 1}` : `job "${id}"`;
  r.checkKeys(entries, JOB_KEYS, `in ${name}`);

  /** The value of `key` read by `read`, or `fallback` when absent or unreadable. */
  function field<T>(key: string, read: (node: unknown, what: string) => T | undefined, fallback: T): T {
    const entry = fields.get(key);
    if (entry === undefined) return fallback;
    return read(entry.value, `${name}: ${key}`) ?? fallback;
  }

  const type = field('type', (n, w) => readJobType(r, n, w), 'run');
  const file = field<string | undefined>('file', (n, w) => nonEmpty(r, n, w), undefined);
  const command = field<string | undefined>('command', (n, w) => nonEmpty(r, n, w), undefined);
  const commandEntry = fields.get('command');
  if (!fields.has('file') && commandEntry === undefined) {
    r.report(item, `${name} has neither file nor command; add file: <script path> or command: <shell command>`);
  } else if (fields.has('file') && commandEntry !== undefined) {
    r.report(commandEntry.keyNode, `${name} has both file and command; keep only one`);
  }

  const dependsEntry = fields.get('depends_on');
  const aliasEntry = fields.get('dependencies');
  if (dependsEntry !== undefined && aliasEntry !== undefined) {
    r.report(aliasEntry.keyNode, `${name} has both depends_on and dependencies; merge them into depends_on`);
  }
  const parentsEntry = dependsEntry ?? aliasEntry;
  const parents = parentsEntry === undefined ? [] : readNames(r, parentsEntry.value, `${name}: ${parentsEntry.key}`);

  const onFailureNames = field('on_failure', (n, w) => readNames(r, n, w), []);
  if (onFailureNames.length > 1) r.report(fields.get('on_failure')?.value, `${name}: on_failure names one job, not a list`);
  const onFailure = onFailureNames[0] ?? null;
  if (onFailure !== null && onFailure.text === id) {
    r.report(onFailure.node, `${name}: on_failure cannot name the job itself; name a separate recovery job`);
  }

  const job: PipelineJob = {
    id: id ?? `#${index + 1}`,
    type,
    ...(file === undefined ? {} : { file }),
    ...(command === undefined ? {} : { command }),
    args: field('args', (n, w) => readArgs(r, n, w), []),
    env: field('env', (n, w) => readEnv(r, n, w), {}),
    dependsOn: parents.map((p) => p.text),
    requirement: field('requirement', (n, w) => readRequirement(r, n, w), [...DEFAULT_REQUIREMENT]),
    priority: field('priority', (n, w) => r.number(n, w, { integer: true }), 0),
    delaySeconds: field('delay', (n, w) => r.number(n, w, { min: 0 }), 0),
    ...optional(
      'runAt',
      field<number | undefined>('run_at', (n, w) => readInstant(r, n, w), undefined),
    ),
    affinity: field('affinity', (n, w) => r.boolean(n, w), false),
    port: field<number | 'auto' | null>('port', (n, w) => readPort(r, n, w), null),
    retries: field('retries', (n, w) => r.number(n, w, { integer: true, min: 0 }), 0),
    retryBackoff: field('retry_backoff', (n, w) => readBackoff(r, n, w), DEFAULT_RETRY_BACKOFF),
    timeoutSeconds: field('timeout', (n, w) => r.number(n, w, { min: 0 }), 0),
    triggerRule: field('trigger_rule', (n, w) => r.oneOf(n, w, TRIGGER_RULES), 'all_success'),
    approval: field<Approval | null>('approval', (n, w) => readApproval(r, n, w, id ?? `#${index + 1}`), null),
    hitl: readHitl(r, fields, name, id),
    onFailure: onFailure?.text ?? null,
    resources: field<PipelineJob['resources']>('resources', (n, w) => readResources(r, n, w), null),
    driver: field<PipelineJob['driver']>('driver', (n, w) => r.oneOf(n, w, DRIVER_NAMES), null),
    network: field<PipelineJob['network']>('network', (n, w) => r.oneOf(n, w, NETWORKS), null),
    image: field<string | null>('image', (n, w) => nonEmpty(r, n, w), null),
    line: r.line(item),
  };
  return { job, hasId: id !== undefined, idNode: idEntry?.value ?? item, parents, onFailure };
}

function readId(r: YamlReader, entry: Entry | undefined, item: unknown, index: number): string | undefined {
  if (entry === undefined) {
    r.report(item, `job #${index + 1} has no id; add id: <name>`);
    return undefined;
  }
  const id = r.text(entry.value, `job #${index + 1}: id`, true);
  if (id === undefined) return undefined;
  if (!JOB_ID_PATTERN.test(id)) {
    r.report(entry.value, `job id ${JSON.stringify(id)} is invalid; use 1 to 128 letters, digits, ".", "_" or "-"`);
    return undefined;
  }
  return id;
}

function optional<K extends string, T>(key: K, value: T | undefined): { [P in K]?: T } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: T };
}

/** `run_at: 2026-12-01T08:00:00Z`: an ISO 8601 time with its zone. */
export function readInstant(r: YamlReader, node: unknown, what: string): number | undefined {
  const text = r.text(node, what);
  if (text === undefined) return undefined;
  try {
    return parseInstant(text, what);
  } catch (err) {
    r.report(node, (err as Error).message);
    return undefined;
  }
}

function nonEmpty(r: YamlReader, node: unknown, what: string): string | undefined {
  const text = r.text(node, what);
  if (text === undefined || text.trim() !== '') return text;
  r.report(node, `${what} is empty`);
  return undefined;
}

function readPort(r: YamlReader, node: unknown, what: string): number | 'auto' | null | undefined {
  const value = r.resolve(node);
  if (isNull(value)) return null;
  if (isScalar(value) && typeof value.value === 'string') {
    if (value.value === 'auto') return 'auto';
    r.report(node, `${what} must be a port number (1-65535) or auto, not ${describe(value)}`);
    return undefined;
  }
  return r.number(node, what, { integer: true, min: 1, max: 65535 });
}

function readBackoff(r: YamlReader, node: unknown, what: string): RetryBackoff | undefined {
  const value = r.resolve(node);
  if (isNull(value)) return DEFAULT_RETRY_BACKOFF;
  if (isScalar(value) && typeof value.value === 'string') {
    const type = r.oneOf(node, `${what} type`, BACKOFF_TYPES);
    return type === undefined ? undefined : { ...DEFAULT_RETRY_BACKOFF, type };
  }
  if (!isMap(value)) {
    r.report(node, `${what} must be a map like { type: fixed, delay: 1, max: 300 }, not ${describe(value)}`);
    return undefined;
  }
  const entries = r.entries(value);
  r.checkKeys(entries, RETRY_BACKOFF_KEYS, nested(what));
  const get = (key: string): Entry | undefined => entries.find((e) => e.key === key);
  const typeEntry = get('type');
  const delayEntry = get('delay');
  const maxEntry = get('max');
  const type = typeEntry === undefined ? DEFAULT_RETRY_BACKOFF.type : r.oneOf(typeEntry.value, `${what}.type`, BACKOFF_TYPES);
  const delaySeconds = delayEntry === undefined ? DEFAULT_RETRY_BACKOFF.delaySeconds : r.number(delayEntry.value, `${what}.delay`, { min: 0 });
  const maxSeconds = maxEntry === undefined ? DEFAULT_RETRY_BACKOFF.maxSeconds : r.number(maxEntry.value, `${what}.max`, { min: 0 });
  if (type === undefined || delaySeconds === undefined || maxSeconds === undefined) return undefined;
  return { type, delaySeconds, maxSeconds };
}

function readApproval(r: YamlReader, node: unknown, what: string, id: string): Approval | null | undefined {
  const value = r.resolve(node);
  const fallback = `Approve job "${id}" to run?`;
  if (isNull(value)) return null;
  if (isScalar(value) && typeof value.value === 'boolean') return value.value ? { message: fallback, timeoutSeconds: 0 } : null;
  if (isScalar(value) && typeof value.value === 'string') return { message: value.value, timeoutSeconds: 0 };
  if (!isMap(value)) {
    r.report(node, `${what} must be true, a message, or a map like { message: "...", timeout: 3600 }, not ${describe(value)}`);
    return undefined;
  }
  const entries = r.entries(value);
  r.checkKeys(entries, APPROVAL_KEYS, nested(what));
  const messageEntry = entries.find((e) => e.key === 'message');
  const timeoutEntry = entries.find((e) => e.key === 'timeout');
  const message = messageEntry === undefined ? fallback : r.text(messageEntry.value, `${what}.message`);
  const timeoutSeconds = timeoutEntry === undefined ? 0 : r.number(timeoutEntry.value, `${what}.timeout`, { min: 0 });
  if (message === undefined || timeoutSeconds === undefined) return undefined;
  return { message, timeoutSeconds };
}

/** `job "x": retry_backoff` → `in retry_backoff of job "x"`, for unknown-key messages. */
function nested(what: string): string {
  const split = what.lastIndexOf(': ');
  return split < 0 ? `in ${what}` : `in ${what.slice(split + 2)} of ${what.slice(0, split)}`;
}
