import { inNamespace, namespacePrefix, type Identity } from '../security/policy.js';

/**
 * The one request context: who is asking and what to undo when they go. A TCP `Session` holds one
 * for its connection (its identity set once AUTH succeeds); an HTTP request gets one of its own.
 * Client operations take it, so both ports run the very same handlers; waits and log follows
 * register their cleanup here, so they end when the caller goes.
 */
export class ClientContext {
  readonly #cleanups = new Set<() => void>();

  /** identity null: not authenticated yet, or the master's own calls (metrics), which see everything. */
  constructor(
    readonly remoteAddress: string,
    public identity: Identity | null = null,
  ) {}

  /** The prefix ids created for this caller get: `<namespace>.` for a namespaced token, else "". */
  get idPrefix(): string {
    return this.identity === null ? '' : namespacePrefix(this.identity);
  }

  /** True when this caller may see the job, DAG or key id (listings are filtered with it). */
  sees(id: string): boolean {
    return this.identity === null || inNamespace(this.identity, id);
  }

  /**
   * Registers an undo for when the caller goes. Returns a function that unregisters it, for waits
   * that end first: a long-lived SDK connection must not accumulate one entry per finished wait.
   */
  onClose(cleanup: () => void): () => void {
    this.#cleanups.add(cleanup);
    return () => this.#cleanups.delete(cleanup);
  }

  /** The caller has gone: runs every cleanup once. */
  close(): void {
    const cleanups = [...this.#cleanups];
    this.#cleanups.clear();
    for (const cleanup of cleanups) cleanup();
  }
}
