import { Opcode } from '../protocol/opcodes.js';
import { CLUSTER, type Action, type Resource } from './policy.js';

/**
 * Which permission each client opcode needs, and which ids it touches, read from the raw body
 * (the handler validates it strictly afterwards; here a missing field just means "no id yet").
 * An opcode missing from this table needs `admin`: a new opcode is safe until someone decides.
 */
export interface Requirement {
  readonly action: Action;
  readonly resource: Resource;
}

type Rule = (body: Record<string, unknown>) => Requirement;

const ids = (...values: unknown[]): Resource => ({ kind: 'ids', ids: values.filter((v): v is string => typeof v === 'string') });
const need = (action: Action, resource: Resource = CLUSTER): Requirement => ({ action, resource });
const jobRef =
  (action: Action): Rule =>
  (b) =>
    need(action, ids(b.jobId));
const dagRef =
  (action: Action): Rule =>
  (b) =>
    need(action, ids(b.dagId));
const keyRef =
  (action: Action): Rule =>
  (b) =>
    need(action, ids(b.key));
/** A KV gate of the original SDK is decided by writing its status key: the key is what is touched. */
const decisionRef: Rule = (b) => need('approve', typeof b.gateId === 'string' ? ids(`titan:hitl:status:${b.gateId}`) : ids(b.jobId));
const jobsOf = (b: Record<string, unknown>): Record<string, unknown>[] =>
  Array.isArray(b.jobs) ? b.jobs.filter((j): j is Record<string, unknown> => typeof j === 'object' && j !== null) : [];
const hasService = (jobs: readonly Record<string, unknown>[]): boolean => jobs.some((j) => j.service !== undefined);
/** Content-addressed blobs carry no id, so any caller with the action may use them. */
const NO_IDS: Resource = { kind: 'ids', ids: [] };

const RULES: ReadonlyMap<number, Rule> = new Map<number, Rule>([
  [Opcode.PING, () => need('read', NO_IDS)],
  [Opcode.WHOAMI, () => need('read', NO_IDS)],
  [Opcode.JOB_SUBMIT, (b) => need(b.service !== undefined ? 'deploy' : 'submit', ids(b.id))],
  [Opcode.JOB_SUBMIT_BATCH, (b) => need(hasService(jobsOf(b)) ? 'deploy' : 'submit', ids(...jobsOf(b).map((j) => j.id)))],
  [Opcode.JOB_STATUS, jobRef('read')],
  [Opcode.JOB_LIST, () => need('read')],
  [Opcode.JOB_CANCEL, jobRef('cancel')],
  [Opcode.JOB_WAIT, jobRef('read')],
  [Opcode.JOB_LOGS, jobRef('read')],
  [Opcode.JOB_HISTORY, jobRef('read')],
  [Opcode.JOB_RETRY, jobRef('submit')],
  [Opcode.JOB_APPROVE, decisionRef],
  [Opcode.JOB_REJECT, decisionRef],
  [Opcode.APPROVAL_LIST, () => need('read')],
  [Opcode.CLUSTER_STATS, () => need('read')],
  [Opcode.ARTIFACT_PUT, () => need('submit', NO_IDS)],
  [Opcode.ARTIFACT_GET, () => need('read', NO_IDS)],
  [Opcode.DAG_SUBMIT, (b) => need(hasService(jobsOf(b)) ? 'deploy' : 'submit', NO_IDS)],
  [Opcode.DAG_ADD_JOBS, (b) => need(hasService(jobsOf(b)) ? 'deploy' : 'submit', ids(b.dagId))],
  // Its jobs are known once parsed: the master then checks what DAG_SUBMIT / DAG_ADD_JOBS would need (deploy for a service).
  [Opcode.PIPELINE_SUBMIT, (b) => need('submit', typeof b.dagId === 'string' ? ids(b.dagId) : NO_IDS)],
  [Opcode.DAG_STATUS, dagRef('read')],
  [Opcode.DAG_LIST, () => need('read')],
  [Opcode.DAG_CANCEL, dagRef('cancel')],
  [Opcode.DAG_WAIT, dagRef('read')],
  [Opcode.KV_GET, keyRef('read')],
  [Opcode.KV_SMEMBERS, keyRef('read')],
  [Opcode.KV_PUT, keyRef('write')],
  [Opcode.KV_DELETE, keyRef('write')],
  [Opcode.KV_SADD, keyRef('write')],
  [Opcode.ARTIFACT_PUBLISH, keyRef('write')],
  [Opcode.ARTIFACT_FETCH, keyRef('read')],
  [Opcode.ARTIFACT_LIST, (b) => need('read', ids(typeof b.prefix === 'string' ? b.prefix : ''))],
  [Opcode.SERVICE_LIST, () => need('read')],
  [Opcode.SERVICE_STOP, jobRef('deploy')],
  [Opcode.SERVICE_RESTART, jobRef('deploy')],
  [Opcode.SCHEDULE_LIST, () => need('read')],
  [Opcode.SCHEDULE_ADD, () => need('submit')],
  [Opcode.SCHEDULE_REMOVE, () => need('submit')],
  [Opcode.SCHEDULE_PAUSE, () => need('submit')],
  [Opcode.SCHEDULE_RESUME, () => need('submit')],
  [Opcode.WORKER_SHUTDOWN, () => need('admin')],
  [Opcode.TOKEN_CREATE, () => need('admin')],
  [Opcode.TOKEN_LIST, () => need('admin')],
  [Opcode.TOKEN_REVOKE, () => need('admin')],
  [Opcode.AUDIT_LIST, () => need('admin')],
  [Opcode.AUDIT_VERIFY, () => need('admin')],
  [Opcode.STORE_GC, () => need('admin')],
]);

export function requirementOf(opcode: number, body: unknown): Requirement {
  const rule = RULES.get(opcode);
  if (rule === undefined) return need('admin');
  return rule(typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {});
}

/** Opcodes whose effect is recorded in the audit ledger: everything that is not a read. */
export function isAudited(requirement: Requirement): boolean {
  return requirement.action !== 'read';
}
