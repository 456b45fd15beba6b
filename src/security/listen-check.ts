import { ErrorCode, TitanError } from '../common/errors.js';
import { isLoopbackHost, LEGACY_FLAG } from '../common/hosts.js';

export interface ListenPlan {
  readonly host: string;
  readonly httpHost?: string;
  readonly grpcHost?: string;
  readonly tls: boolean;
  readonly insecure: boolean;
  readonly allowLegacy: boolean;
}

/**
 * Plain TCP is for loopback only: anyone on the network could read the tokens going by. A master
 * listening elsewhere needs TLS, or an explicit --insecure (a private network the operator trusts).
 */
export function checkListenSecurity(plan: ListenPlan): void {
  if (plan.tls && plan.allowLegacy) {
    throw new TitanError(
      ErrorCode.INVALID_REQUEST,
      `${LEGACY_FLAG} serves the original Titan's plain-text protocol v1, which cannot run over TLS; drop one of --tls and ${LEGACY_FLAG}`,
    );
  }
  if (plan.tls || plan.insecure) return;
  for (const [what, host] of [
    ['--listen', plan.host],
    ['--http', plan.httpHost],
    ['--grpc', plan.grpcHost],
  ] as const) {
    if (host !== undefined && !isLoopbackHost(host)) {
      throw new TitanError(
        ErrorCode.INVALID_REQUEST,
        `refusing to listen on ${host} (${what}) without TLS: tokens would cross the network in clear. ` +
          'Run `titan certs init` and start the master with --tls (add --mtls to require client certificates), ' +
          'or pass --insecure if this network is trusted',
      );
    }
  }
}
