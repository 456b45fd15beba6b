import { ErrorCode, TitanError } from '../common/errors.js';

/** A request (or stream) we sent and still wait on. */
export interface Pending {
  readonly opcode: number;
  readonly json: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
  /** Present for streams. */
  readonly onChunk: ((body: unknown) => void) | undefined;
  timer?: NodeJS.Timeout;
  unlisten?: () => void;
}

const MAX_RID = 0x7fff_ffff;

/** Outstanding requests by request id, with id allocation and cleanup of timers and listeners. */
export class PendingTable {
  private readonly byRid = new Map<number, Pending>();
  private nextRid = 1;

  get size(): number {
    return this.byRid.size;
  }

  get(rid: number): Pending | undefined {
    return this.byRid.get(rid);
  }

  /** Stores `p` under a fresh request id (never 0, never one in use) and returns it. */
  add(p: Pending): number {
    // Bounded: at most size ids can be taken.
    for (let i = 0; i <= this.byRid.size; i++) {
      const rid = this.nextRid;
      this.nextRid = rid >= MAX_RID ? 1 : rid + 1;
      if (!this.byRid.has(rid)) {
        this.byRid.set(rid, p);
        return rid;
      }
    }
    throw new TitanError(ErrorCode.INTERNAL, 'no free request id');
  }

  /** Removes `p` if it is still the entry for `rid`; returns whether it was. */
  settle(rid: number, p: Pending): boolean {
    if (this.byRid.get(rid) !== p) return false;
    this.byRid.delete(rid);
    if (p.timer) clearTimeout(p.timer);
    p.unlisten?.();
    return true;
  }

  rejectAll(err: TitanError): void {
    const all = [...this.byRid.entries()];
    for (const [rid, p] of all) {
      this.settle(rid, p);
      p.reject(err);
    }
  }
}
