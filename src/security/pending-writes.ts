/**
 * What a reply waits for: writes that have not committed yet. Not a promise, so that a caller
 * with no reply to hold (a connection's AUTH row) may drop it.
 */
export interface Committing {
  after(committed: () => void, failed: (err: unknown) => void): void;
}

/**
 * Writes that have begun but not committed (PostgreSQL's; SQLite's commit before they return),
 * so a reply can wait for the ones begun before it.
 */
export class PendingWrites {
  private readonly unsettled = new Set<Promise<void>>();

  /** Follows `written` (nothing to follow when undefined); a failure is rethrown as `fail` makes it. */
  track(written: Promise<void> | undefined, fail: (err: unknown) => Error): void {
    if (written === undefined) return;
    const tracked = written.then(
      () => {
        this.unsettled.delete(tracked);
      },
      (err: unknown) => {
        this.unsettled.delete(tracked);
        throw fail(err);
      },
    );
    // Answered through `settled`; a failure no one waits for must not end the process.
    tracked.catch(() => undefined);
    this.unsettled.add(tracked);
  }

  /**
   * Undefined when nothing is in flight; otherwise a promise that resolves once every write begun
   * so far has committed, or rejects with the first failure.
   */
  settled(): Promise<void> | undefined {
    if (this.unsettled.size === 0) return undefined;
    return Promise.all(this.unsettled).then(() => undefined);
  }

  /** `settled()` as a handle a reply can wait on; undefined when nothing is in flight. */
  committing(): Committing | undefined {
    const settled = this.settled();
    return settled === undefined ? undefined : { after: (committed, failed) => void settled.then(committed, failed) };
  }
}
