import { ErrorCode, TitanError } from '../../common/errors.js';
import { LEGACY_IDENTITY_NAME, LEGACY_ROLE_FLAG, legacyActionName, legacyRequirementOf } from '../../security/legacy-permissions.js';
import { isAudited } from '../../security/opcode-permissions.js';
import { ROLE_ACTIONS, ROLES, type Action, type Identity, type Role } from '../../security/policy.js';
import { targetOf } from '../../security/security.js';
import type { Master } from '../master.js';
import type { LegacyRequest } from '../../protocol/legacy-frame.js';
import { fail, handleLegacyRequest, type LegacyHost, type LegacyReply } from './handlers.js';
import type { LegacyNameBook } from './names.js';

/** The least role that lets v1 clients do what was refused. */
function roleFor(action: Action): Role | undefined {
  return [...ROLES].reverse().find((r) => ROLE_ACTIONS[r].has(action));
}

/**
 * Serves one v1 request as `identity`: the opcode's permission (legacy-permissions.ts), the pure
 * `can` and the rate limit through `master.security.admit` (a refusal writes its ledger row
 * there), then the handler; a request that is not a read gets its `received` ledger row before
 * the handler runs (committed first, on PostgreSQL) and one with its outcome and the ids it created after. Never throws: everything becomes the original's `ERROR: …` text.
 */
export async function serveLegacyRequest(
  master: LegacyHost & Pick<Master, 'security'>,
  names: LegacyNameBook,
  identity: Identity,
  request: LegacyRequest,
  source: string,
): Promise<LegacyReply> {
  const requirement = legacyRequirementOf(request.opcode, request.payload);
  // Not a v1 request opcode: answered as such by the handler, and nothing happens.
  if (requirement === undefined) return handleLegacyRequest(master, names, request);
  const action = legacyActionName(request.opcode);
  try {
    master.security.admit(identity, requirement, action, source);
  } catch (err) {
    if (!(err instanceof TitanError)) throw err;
    if (err.code !== ErrorCode.FORBIDDEN) return fail(err.message, err.code);
    return fail(`${err.message}. ${fixFor(requirement.action, identity.role)}`, err.code);
  }
  if (isAudited(requirement)) {
    try {
      master.security.receive(identity, action, targetOf(requirement), source);
      // On PostgreSQL the row commits asynchronously: the change runs only once it is durable, as over TCP.
      const received = master.security.settled();
      if (received !== undefined) await received;
    } catch (err) {
      return fail((err as Error).message, ErrorCode.INTERNAL);
    }
  }
  const reply = await handleLegacyRequest(master, names, request);
  if (!isAudited(requirement)) return reply;
  const target = [targetOf(requirement), ...(reply.created ?? []).slice(0, 20)].filter((t) => t.length > 0).join(',');
  const committing = master.security.record(
    identity,
    action,
    target,
    source,
    reply.ok ? 'ok' : `error ${reply.code ?? ErrorCode.INVALID_REQUEST}: ${reply.text.slice(0, 300)}`,
  );
  // On PostgreSQL the reply waits for its `received` row to commit (Security.record).
  if (committing === undefined) return reply;
  return new Promise((resolve) =>
    committing.after(
      () => resolve(reply),
      (err) => resolve(fail((err as Error).message, ErrorCode.INTERNAL)),
    ),
  );
}

function fixFor(action: Action, role: Role): string {
  if (action === 'worker') return 'Original Java workers cannot join a Titan master; run `titan worker --master host:port --token T` instead';
  const needed = roleFor(action);
  return needed === undefined
    ? `Protocol v1 clients act as ${LEGACY_IDENTITY_NAME} with role ${role}`
    : `Protocol v1 clients act as ${LEGACY_IDENTITY_NAME} with role ${role}: start the master with ${LEGACY_ROLE_FLAG} ${needed} (or TITAN_LEGACY_ROLE=${needed}) to allow it, or use a Titan SDK with an API token`;
}
