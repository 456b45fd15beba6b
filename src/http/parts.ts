import type { Logger } from '../common/log.js';
import type { InferenceHost } from '../inference/service.js';
import type { MasterReadModel, MasterRequests } from '../master/ports.js';
import type { BodyLimits } from '../protocol/body-limits.js';
import type { Security } from '../security/security.js';
import type { ServerTlsMaterial } from '../security/tls.js';

/** What the HTTP API is given by the composition root (src/cli/master-process.ts): the master's ports, never the master. */
export interface HttpApiParts {
  /** Every REST route that acts runs the TCP protocol's operation through this (master-call.ts). */
  readonly requests: MasterRequests;
  readonly reads: MasterReadModel;
  /** Authentication, permissions, rate limits and the audit ledger. */
  readonly security: Security;
  readonly inference: InferenceHost;
  readonly log: Logger;
  /** The certificates the TCP port serves too, when --tls. */
  readonly tls: ServerTlsMaterial | null;
  readonly bodyLimits: BodyLimits;
}
