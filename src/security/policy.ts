/**
 * The authorization model, pure: who a caller is (an Identity), what it wants (an Action on a
 * resource id), and `can`, the one function that decides. No I/O, no clock: the master's
 * Session (TCP) and the HTTP onRequest hook both ask it, so the two ports cannot disagree.
 */

import type { JobOwner } from '../core/job.js';

export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What a request does. `read` covers every query; the rest are the verbs the issue names
 * (submit, cancel, approve, deploy), `write` for shared data (KV, keyed artifacts, schedules),
 * `admin` for the cluster itself (tokens, audit, shutting workers down) and `worker` for the
 * worker protocol, which only the cluster token may speak.
 */
export const ACTIONS = ['read', 'submit', 'cancel', 'approve', 'deploy', 'write', 'admin', 'worker'] as const;
export type Action = (typeof ACTIONS)[number];

export const ROLE_ACTIONS: Readonly<Record<Role, ReadonlySet<Action>>> = {
  admin: new Set<Action>(['read', 'submit', 'cancel', 'approve', 'deploy', 'write', 'admin']),
  operator: new Set<Action>(['read', 'submit', 'cancel', 'approve', 'deploy', 'write']),
  viewer: new Set<Action>(['read']),
};

/** Who is asking, as authentication established it. */
export interface Identity {
  /** `cluster`: the cluster token (workers, and admin for backward compatibility); `token`: an API token; `job`: a job's own workload token. */
  readonly kind: 'cluster' | 'token' | 'job';
  /** The token's name, "cluster", or `<owner>/job:<id>` for a job. */
  readonly name: string;
  /** The API token this identity stands on: its own, or for a job its submitter's (absent for the cluster token). */
  readonly tokenId?: string;
  readonly role: Role;
  /** When set, the caller may only touch jobs, DAGs and keys whose id starts with `<namespace>.`. */
  readonly namespace?: string;
  /** Only the cluster token (or a worker certificate) may speak the worker protocol. */
  readonly mayActAsWorker: boolean;
  /** For a job's token: the attempt it was minted for; it is valid while that attempt runs. */
  readonly job?: { readonly id: string; readonly attempt: number; readonly owner: JobOwner };
}

/** What a job submitted by this caller records as its owner (null: the master's own calls, e.g. schedules). */
export function ownerOf(identity: Identity | null): JobOwner | undefined {
  if (identity === null) return undefined;
  if (identity.job !== undefined) return identity.job.owner;
  return {
    name: identity.name,
    ...(identity.tokenId !== undefined ? { tokenId: identity.tokenId } : {}),
    ...(identity.namespace !== undefined ? { namespace: identity.namespace } : {}),
  };
}

/**
 * The identity of a running job's token. A job may do what an operator may, inside its
 * submitter's namespace, and never more: an admin's job does not get admin (a script that needs
 * to mint tokens or shut workers down must be handed an admin token explicitly).
 */
export function jobIdentity(jobId: string, attempt: number, owner: JobOwner | undefined): Identity {
  const by: JobOwner = owner ?? { name: 'cluster' };
  return {
    kind: 'job',
    name: `${by.name}/job:${jobId}`,
    ...(by.tokenId !== undefined ? { tokenId: by.tokenId } : {}),
    role: 'operator',
    ...(by.namespace !== undefined ? { namespace: by.namespace } : {}),
    mayActAsWorker: false,
    job: { id: jobId, attempt, owner: by },
  };
}

/** Namespaces are short and dot-free, so `<namespace>.` is an unambiguous id prefix. */
export const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9_-]{0,39}$/;

export function namespacePrefix(identity: Identity): string {
  return identity.namespace === undefined ? '' : `${identity.namespace}.`;
}

/** True when the id lies inside the caller's namespace (always, for a caller without one). */
export function inNamespace(identity: Identity, id: string): boolean {
  return identity.namespace === undefined || id.startsWith(namespacePrefix(identity));
}

/**
 * What a request touches: specific ids (jobs, DAGs, keys), or the cluster as a whole (stats,
 * workers, tokens, schedules, which have no namespace).
 */
export type Resource = { readonly kind: 'ids'; readonly ids: readonly string[] } | { readonly kind: 'cluster' };

export const CLUSTER: Resource = { kind: 'cluster' };

export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

const ALLOW: Decision = { allowed: true };

/**
 * The one decision. A role grants actions; a namespace then narrows ids to its prefix. A
 * namespaced caller may read cluster-wide views (listings are filtered by the shell) but may not
 * change cluster-wide things, because those would reach outside its namespace.
 */
export function can(identity: Identity, action: Action, resource: Resource = CLUSTER): Decision {
  if (action === 'worker') {
    return identity.mayActAsWorker ? ALLOW : { allowed: false, reason: 'only the cluster token (or a worker certificate) may act as a worker' };
  }
  if (!ROLE_ACTIONS[identity.role].has(action)) {
    return { allowed: false, reason: `role ${identity.role} may not ${action} (it may: ${[...ROLE_ACTIONS[identity.role]].join(', ')})` };
  }
  if (identity.namespace === undefined) return ALLOW;
  if (resource.kind === 'cluster') {
    return action === 'read'
      ? ALLOW
      : { allowed: false, reason: `a token limited to namespace ${identity.namespace} may not ${action} cluster-wide resources` };
  }
  const outside = resource.ids.find((id) => !inNamespace(identity, id));
  if (outside !== undefined) {
    return {
      allowed: false,
      reason: `${JSON.stringify(outside)} is outside namespace ${identity.namespace}: ids must start with "${namespacePrefix(identity)}"`,
    };
  }
  return ALLOW;
}

/** What each role may do, for `whoami` and the dashboard (which hides what the role cannot do). */
export function permissionsOf(identity: Identity): Action[] {
  const actions = ACTIONS.filter((a) => a !== 'worker' && ROLE_ACTIONS[identity.role].has(a));
  return identity.mayActAsWorker ? [...actions, 'worker'] : actions;
}
