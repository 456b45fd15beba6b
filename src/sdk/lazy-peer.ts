import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { Peer, RequestOptions, StreamOptions } from '../protocol/peer.js';
import { FAILOVER_DEFAULTS } from './find-leader.js';
import { isRepeatable } from './repeatable.js';

/** What the SDK's clients need of a connection. */
export interface Requester {
  request(opcode: number, body: unknown, opts?: RequestOptions): Promise<unknown>;
  stream(opcode: number, body: unknown, onChunk: (body: unknown) => void, opts?: StreamOptions): Promise<unknown>;
}

/** Opens a connection to the leader, trying `prefer` (host:port a standby named) first when given. */
export type Opener = (prefer: string | null) => Promise<Peer>;

/** Enough for a deposed leader's answer and a failover or two; each new connection is bounded in time by connectToLeader. */
const MAX_ATTEMPTS = 6;

/**
 * A connection opened on first use and opened again after it dropped, so `new TitanClient()`
 * needs no await and a client outlives a master restart.
 *
 * A request is sent again only when that cannot do it twice: the master refused it with
 * E_NOT_LEADER or E_FENCED (it did nothing), or, with several masters, the connection was lost
 * under a request that only reads (a wait, a status). A submit whose connection died before its
 * answer is not resent: it may have been committed, and the caller is told.
 */
export class LazyPeer implements Requester {
  private current: Promise<Peer> | null = null;
  private closed = false;
  /** The leader the last E_NOT_LEADER named: the next connection tries it first. */
  private prefer: string | null = null;

  constructor(
    private readonly open: Opener,
    /** More than one master: a lost connection under a read is worth a new one. */
    private readonly failover: () => boolean = () => false,
  ) {}

  request(opcode: number, body: unknown, opts?: RequestOptions): Promise<unknown> {
    return this.sent(
      opcode,
      () => true,
      (peer) => peer.request(opcode, body, opts),
    );
  }

  stream(opcode: number, body: unknown, onChunk: (body: unknown) => void, opts?: StreamOptions): Promise<unknown> {
    // Once chunks arrived, a repeat would hand the caller the same lines twice.
    let chunks = 0;
    const counted = (chunk: unknown): void => {
      chunks++;
      onChunk(chunk);
    };
    return this.sent(
      opcode,
      () => chunks === 0,
      (peer) => peer.stream(opcode, body, counted, opts),
    );
  }

  /** A read stream whose body carries its own cursor (`bodyNow()` is asked at each sending): resumed after a failover. */
  resumableStream(opcode: number, bodyNow: () => unknown, onChunk: (body: unknown) => void, opts?: StreamOptions): Promise<unknown> {
    return this.sent(
      opcode,
      () => true,
      (peer) => peer.stream(opcode, bodyNow(), onChunk, opts),
    );
  }

  close(): void {
    this.closed = true;
    void this.current?.then(
      (peer) => peer.close(),
      () => undefined,
    );
  }

  private async sent(opcode: number, untouched: () => boolean, send: (peer: Peer) => Promise<unknown>): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      const peer = await this.peer();
      try {
        return await send(peer);
      } catch (err) {
        if (!(err instanceof TitanError) || attempt >= MAX_ATTEMPTS || this.closed) throw err;
        const refused = err.code === ErrorCode.NOT_LEADER || err.code === ErrorCode.FENCED;
        const lost = err.code === ErrorCode.CONNECTION_CLOSED && this.failover() && isRepeatable(opcode);
        if (!untouched() || !(refused || lost)) throw err;
        if (refused) {
          this.prefer = err.leader ?? null;
          peer.close();
        } else {
          await sleep(FAILOVER_DEFAULTS.backoffMinMs);
        }
      }
    }
  }

  private async peer(): Promise<Peer> {
    if (this.closed) throw new Error('this TitanClient was closed; create a new one');
    const existing = this.current === null ? null : await this.current.catch(() => null);
    if (existing !== null && !existing.isClosed) return existing;
    const prefer = this.prefer;
    this.prefer = null;
    const opening = this.open(prefer);
    this.current = opening;
    return opening;
  }
}
