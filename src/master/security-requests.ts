import { Opcode } from '../protocol/opcodes.js';
import {
  AuditListRequest,
  TokenCreateRequest,
  TokenListRequest,
  TokenRevokeRequest,
  type TokenCreateReply,
  type WhoamiReply,
} from '../protocol/security-messages.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';
import { permissionsOf, type Identity } from '../security/policy.js';
import type { Master } from './master.js';
import { parseBody } from '../protocol/parse-body.js';
import { asTitanError } from '../common/errors.js';

export type SecurityHost = Pick<Master, 'security'>;

export function whoami(identity: Identity): WhoamiReply {
  return { kind: identity.kind, name: identity.name, role: identity.role, namespace: identity.namespace ?? null, permissions: permissionsOf(identity) };
}

/** WHOAMI, tokens and the audit ledger. Session has already checked the role. Returns false for other opcodes. */
export function handleSecurityMessage(master: SecurityHost, identity: Identity, msg: IncomingMessage, reply: Replier): boolean {
  switch (msg.opcode) {
    case Opcode.WHOAMI:
      reply.ok(whoami(identity));
      return true;
    case Opcode.TOKEN_CREATE: {
      const { token, view } = master.security.createToken(parseBody(TokenCreateRequest, msg));
      reply.ok({ token, info: view } satisfies TokenCreateReply);
      return true;
    }
    case Opcode.TOKEN_LIST:
      reply.ok({ tokens: master.security.tokens.list(parseBody(TokenListRequest, msg).all) });
      return true;
    case Opcode.TOKEN_REVOKE:
      reply.ok({ revoked: master.security.revokeToken(parseBody(TokenRevokeRequest, msg).token) });
      return true;
    case Opcode.AUDIT_LIST:
      answerWhenRead(
        reply,
        master.security.audit.recent(parseBody(AuditListRequest, msg).limit).then((records) => ({ records })),
      );
      return true;
    case Opcode.AUDIT_VERIFY:
      answerWhenRead(reply, master.security.audit.verify());
      return true;
    default:
      return false;
  }
}

/** The ledger is read from its store (PostgreSQL's asynchronously). */
function answerWhenRead(reply: Replier, answer: Promise<unknown>): void {
  answer.then(
    (body) => reply.ok(body),
    (err: unknown) => {
      const error = asTitanError(err);
      reply.error(error.code, error.message);
    },
  );
}
