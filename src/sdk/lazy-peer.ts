import type { Peer, RequestOptions, StreamOptions } from '../protocol/peer.js';

/** What the SDK's clients need of a connection. */
export interface Requester {
  request(opcode: number, body: unknown, opts?: RequestOptions): Promise<unknown>;
  stream(opcode: number, body: unknown, onChunk: (body: unknown) => void, opts?: StreamOptions): Promise<unknown>;
}

/**
 * A connection opened on first use and opened again after it dropped, so `new TitanClient()`
 * needs no await and a client outlives a master restart.
 */
export class LazyPeer implements Requester {
  private current: Promise<Peer> | null = null;
  private closed = false;

  constructor(private readonly open: () => Promise<Peer>) {}

  request(opcode: number, body: unknown, opts?: RequestOptions): Promise<unknown> {
    return this.peer().then((peer) => peer.request(opcode, body, opts));
  }

  stream(opcode: number, body: unknown, onChunk: (body: unknown) => void, opts?: StreamOptions): Promise<unknown> {
    return this.peer().then((peer) => peer.stream(opcode, body, onChunk, opts));
  }

  close(): void {
    this.closed = true;
    void this.current?.then(
      (peer) => peer.close(),
      () => undefined,
    );
  }

  private async peer(): Promise<Peer> {
    if (this.closed) throw new Error('this TitanClient was closed; create a new one');
    const existing = this.current === null ? null : await this.current.catch(() => null);
    if (existing !== null && !existing.isClosed) return existing;
    const opening = this.open();
    this.current = opening;
    return opening;
  }
}
