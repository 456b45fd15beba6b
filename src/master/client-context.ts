/**
 * What a client operation needs from the connection it came on: a TCP session or an HTTP
 * request. Waits and log follows register their cleanup here, so they end when the caller goes.
 */
import type { Identity } from '../security/policy.js';

export interface ClientContext {
  /** Registers an undo for when the caller goes; returns a function that unregisters it. */
  onClose(cleanup: () => void): () => void;
  /** Who is asking, for audit fields such as an approval's `by`. */
  readonly remoteAddress: string;
  /** Who authenticated (null for the master's own internal calls): quotas and approvers use it. */
  readonly identity: Identity | null;
  /** The prefix ids created for this caller get: `<namespace>.` for a namespaced token, else "". */
  readonly idPrefix: string;
  /** True when this caller may see the job, DAG or key id (listings are filtered with it). */
  sees(id: string): boolean;
}
