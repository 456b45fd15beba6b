import { ErrorCode, TitanError } from '../common/errors.js';
import { LegacyOp } from '../protocol/legacy-frame.js';
import { CLUSTER, ROLES, type Action, type Identity, type Resource, type Role } from './policy.js';
import type { Requirement } from './opcode-permissions.js';

/**
 * Which permission each protocol v1 opcode (the original Java Titan's, docs/COMPAT.md) needs,
 * and what it touches, read from the raw text payload before the handler parses it strictly.
 * v1 clients carry no token: they all act as the identity `legacy-v1`, whose role is
 * `titan master --legacy-role` (operator by default), and are checked with the same `can` as
 * every TCP and HTTP request. An opcode missing from this table is one the master does not serve
 * over v1 (it is answered as such and does nothing).
 */

type Rule = (payload: string) => Requirement;

const need = (action: Action, resource: Resource = CLUSTER): Requirement => ({ action, resource });
const ids = (...values: string[]): Resource => ({ kind: 'ids', ids: values.filter((v) => v.length > 0) });
/** The payload is one name (a job name, a key, an asset). */
const named =
  (action: Action): Rule =>
  (p) =>
    need(action, ids(p.trim()));
/** `key|rest`: the key names what is touched. */
const keyed =
  (action: Action): Rule =>
  (p) => {
    const cut = p.indexOf('|');
    return need(action, ids((cut < 0 ? p : p.slice(0, cut)).trim()));
  };
/** `file|…`: the uploaded script a run or deploy uses. */
const fileOf =
  (action: Action): Rule =>
  (p) =>
    need(action, ids((p.split('|')[0] ?? '').trim()));
/**
 * A submission that starts a service is a deploy (as JOB_SUBMIT with `service`). Fields are split
 * on `|` without escaping, so a field equal to a service kind can only be the job's kind (or an
 * args field spelled like one, which only makes the check stricter).
 */
const SERVICE_KIND = /\|(DEPLOY_PAYLOAD|START_ARCHIVE_SERVICE)\|/;
const submission: Rule = (p) => need(SERVICE_KIND.test(p) ? 'deploy' : 'submit', ids());

const RULES: ReadonlyMap<number, Rule> = new Map<number, Rule>([
  [LegacyOp.SUBMIT_JOB, submission],
  [LegacyOp.SUBMIT_DAG, submission],
  [LegacyOp.RUN, fileOf('submit')],
  [LegacyOp.DEPLOY, fileOf('deploy')],
  [LegacyOp.STOP, named('deploy')],
  [LegacyOp.STATS, () => need('read')],
  [LegacyOp.STATS_JSON, () => need('read')],
  // Shutting a worker down is admin (as WORKER_SHUTDOWN), even though v1 cannot address Titan workers.
  [LegacyOp.KILL_WORKER, () => need('admin')],
  [LegacyOp.GET_LOGS, named('read')],
  [LegacyOp.GET_JOB_STATUS, named('read')],
  [LegacyOp.CANCEL_JOB, named('cancel')],
  [LegacyOp.UPLOAD_ASSET, keyed('write')],
  [LegacyOp.DEPLOY_SCRIPT, keyed('write')],
  [LegacyOp.FETCH_ASSET, named('read')],
  [LegacyOp.KV_SET, keyed('write')],
  [LegacyOp.KV_GET, named('read')],
  [LegacyOp.KV_SADD, keyed('write')],
  [LegacyOp.KV_SMEMBERS, named('read')],
  // The original's worker protocol: only the cluster token may act as a worker, never a v1 client.
  [LegacyOp.HEARTBEAT, () => need('worker')],
  [LegacyOp.REGISTER, () => need('worker')],
]);

const NAMES = new Map<number, string>(Object.entries(LegacyOp).map(([name, code]) => [code, name]));

/** `V1 SUBMIT_JOB`: how a v1 request is named in refusals and the audit ledger. */
export function legacyActionName(opcode: number): string {
  return `V1 ${NAMES.get(opcode) ?? `#0x${opcode.toString(16).padStart(2, '0')}`}`;
}

/** The permission a v1 request needs, or undefined for an opcode the master does not serve over v1. */
export function legacyRequirementOf(opcode: number, payload: string): Requirement | undefined {
  return RULES.get(opcode)?.(payload);
}

export const LEGACY_ROLE_FLAG = '--legacy-role';
export const DEFAULT_LEGACY_ROLE: Role = 'operator';
/** Who v1 clients are in refusals and the audit ledger. */
export const LEGACY_IDENTITY_NAME = 'legacy-v1';

/**
 * The one identity every v1 client acts as: v1 carries no token, so the master's operator picks
 * its role (`--legacy-role`). It is a fixed, token-like identity (kind `token` without a token
 * id): rate limited like an API token, never a worker, never revoked.
 */
export function legacyIdentity(role: Role): Identity {
  return { kind: 'token', name: LEGACY_IDENTITY_NAME, role, mayActAsWorker: false };
}

/** `--legacy-role` / TITAN_LEGACY_ROLE: one of the roles, named in the error otherwise. */
export function parseLegacyRole(value: string): Role {
  const role = ROLES.find((r) => r === value.trim().toLowerCase());
  if (role === undefined) {
    throw new TitanError(ErrorCode.INVALID_REQUEST, `${LEGACY_ROLE_FLAG} must be one of ${ROLES.join(', ')} (what protocol v1 clients may do), not "${value}"`);
  }
  return role;
}
