/**
 * What a client operation needs from the connection it came on: a TCP session or an HTTP
 * request. Waits and log follows register their cleanup here, so they end when the caller goes.
 */
export interface ClientContext {
  /** Registers an undo for when the caller goes; returns a function that unregisters it. */
  onClose(cleanup: () => void): () => void;
  /** Who is asking, for audit fields such as an approval's `by`. */
  readonly remoteAddress: string;
}
