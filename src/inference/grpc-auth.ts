/**
 * Who may call which gRPC method: the same tokens, roles and ledger as TCP and HTTP. A method's
 * action is its REST twin's (RequestInference is a submit, QuerySystemStatus a read); registering
 * and reporting as an inference agent is worker business, for the cluster token only.
 */
import * as grpc from '@grpc/grpc-js';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { Committing } from '../security/pending-writes.js';
import type { Security } from '../security/security.js';
import { CLUSTER, type Action, type Resource } from '../security/policy.js';

export type GrpcMethod = 'RequestInference' | 'RegisterAgent' | 'ReportHealth' | 'QuerySystemStatus';

const METHOD_PERMISSIONS: Readonly<Record<GrpcMethod, { action: Action; resource: Resource }>> = {
  RequestInference: { action: 'submit', resource: { kind: 'ids', ids: [] } },
  RegisterAgent: { action: 'worker', resource: CLUSTER },
  ReportHealth: { action: 'worker', resource: CLUSTER },
  QuerySystemStatus: { action: 'read', resource: CLUSTER },
};

/**
 * The guard's decision: a refusal as gRPC says it, or leave to go ahead with `outcome`, which
 * writes the call's second ledger row (its result) for a change, as TCP and HTTP do, and
 * nothing for a read.
 */
export type GrpcAdmission =
  | { readonly refused: Partial<grpc.StatusObject> }
  | {
      readonly refused: null;
      /** A change's `received` row committing (PostgreSQL): the call runs once it has. Undefined: run now. */
      readonly received: Promise<void> | undefined;
      readonly outcome: (result: string) => Committing | undefined | void;
    };

export type GrpcGuard = (metadata: grpc.Metadata, method: GrpcMethod, peer: string) => GrpcAdmission;

/** How a failed call reads in the ledger: the Titan code when the answer carries one, else the gRPC status name. */
export function grpcResult(error: Partial<grpc.StatusObject>): string {
  const titanCode = error.metadata?.get('titan-code')[0];
  const code = typeof titanCode === 'string' ? titanCode : (grpc.status[error.code ?? grpc.status.UNKNOWN] ?? String(error.code));
  return `error ${code}: ${(error.details ?? '').slice(0, 300)}`;
}

/**
 * Wraps a unary callback so that its answer, ok or error, writes the outcome row once, then goes
 * out unchanged: once the writes it depends on have committed, when `outcome` returns their
 * handle (PostgreSQL), or as their error should they fail.
 */
export function auditedCallback<T>(callback: grpc.sendUnaryData<T>, outcome: (result: string) => Committing | undefined | void): grpc.sendUnaryData<T> {
  let written = false;
  return (error, value, trailer, flags) => {
    const committing = written ? undefined : outcome(error === null || error === undefined ? 'ok' : grpcResult(error));
    written = true;
    if (committing === undefined) return callback(error, value, trailer, flags);
    committing.after(
      () => callback(error, value, trailer, flags),
      (err: unknown) => callback({ code: grpc.status.INTERNAL, details: (err as Error).message }, null),
    );
  };
}

/** Runs an admitted call once its `received` row has committed, or answers that commit's failure. */
export function whenReceived(received: Promise<void> | undefined, run: () => void, failed: (error: Partial<grpc.StatusObject>) => void): void {
  if (received === undefined) return run();
  received.then(run, (err: unknown) => failed({ code: grpc.status.INTERNAL, details: `the ledger could not record the call: ${(err as Error).message}` }));
}

function bearer(metadata: grpc.Metadata): string | undefined {
  const header = metadata.get('authorization')[0];
  const text = typeof header === 'string' ? header : header?.toString('utf8');
  return text?.startsWith('Bearer ') === true ? text.slice('Bearer '.length).trim() : undefined;
}

const CODES: Partial<Record<string, grpc.status>> = {
  [ErrorCode.FORBIDDEN]: grpc.status.PERMISSION_DENIED,
  [ErrorCode.RATE_LIMITED]: grpc.status.RESOURCE_EXHAUSTED,
  [ErrorCode.UNAUTHENTICATED]: grpc.status.UNAUTHENTICATED,
};

export function grpcGuard(security: () => Security): GrpcGuard {
  return (metadata, method, peer) => {
    const action = `GRPC ${method}`;
    const source = peer.replace(/^ipv[46]:/, '');
    const secret = bearer(metadata);
    const guard = security();
    const identity = secret === undefined ? undefined : guard.identify(secret);
    if (identity === undefined) {
      if (secret !== undefined && !guard.refuseUnauthenticated(action, source).allowed) {
        return { refused: { code: grpc.status.RESOURCE_EXHAUSTED, details: `too many failed authentications from ${source}; retry later` } };
      }
      return { refused: { code: grpc.status.UNAUTHENTICATED, details: `${guard.refusal(secret)} (sent as metadata "authorization: Bearer <token>")` } };
    }
    const permission = METHOD_PERMISSIONS[method];
    try {
      guard.admit(identity, permission, action, source);
      if (permission.action === 'read') return { refused: null, received: undefined, outcome: () => undefined };
      guard.receive(identity, action, '', source);
    } catch (err) {
      if (!(err instanceof TitanError)) throw err;
      const metadataOut = new grpc.Metadata();
      metadataOut.set('titan-code', err.code);
      return { refused: { code: CODES[err.code] ?? grpc.status.INTERNAL, details: err.message, metadata: metadataOut } };
    }
    return { refused: null, received: guard.settled(), outcome: (result) => guard.record(identity, action, '', source, result) };
  };
}
