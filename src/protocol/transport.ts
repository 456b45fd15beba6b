import type { Socket } from 'node:net';

/**
 * A duplex byte pipe. A Peer takes one by constructor so protocol logic runs the same over TCP
 * and over an in-memory pair in tests. Listeners are added, never replaced.
 */
export interface Transport {
  /** `host:port` of the other side, for logs and errors. */
  readonly remoteAddress: string;
  /**
   * Queues bytes for the other side. The transport owns `data` afterwards (do not mutate it).
   * Returns false when the caller should wait for a drain before writing much more; the bytes are
   * still queued. After close the bytes are dropped and false is returned.
   */
  write(data: Buffer): boolean;
  /** Flushes queued bytes, then closes. Idempotent. */
  close(): void;
  /** Incoming bytes, in order. Chunks are handed over: the transport never reuses them. */
  onData(cb: (chunk: Buffer) => void): void;
  /** Called once when the pipe is gone (either side closed, or an I/O error, passed as `err`). */
  onClose(cb: (err?: Error) => void): void;
  /** Called when a write that returned false has been flushed. */
  onDrain(cb: () => void): void;
}

const CLOSE_GRACE_MS = 2000;

function formatAddress(host: string | undefined, port: number | undefined): string {
  if (host === undefined) return 'unconnected';
  return host.includes(':') ? `[${host}]:${port ?? '?'}` : `${host}:${port ?? '?'}`;
}

/** Wraps a connected (or connecting) TCP socket. Disables Nagle: frames are small and latency-bound. */
export function tcpTransport(socket: Socket): Transport {
  socket.setNoDelay(true);
  let closing = false;
  let closed = false;
  let error: Error | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  const closeListeners: Array<(err?: Error) => void> = [];
  // Without an 'error' listener an ECONNRESET would crash the process; 'close' always follows.
  socket.on('error', (err) => {
    error ??= err;
  });
  socket.once('close', () => {
    closed = true;
    if (graceTimer) clearTimeout(graceTimer);
    for (const cb of closeListeners.splice(0)) cb(error);
  });
  return {
    get remoteAddress() {
      return formatAddress(socket.remoteAddress, socket.remotePort);
    },
    write(data) {
      if (closing || closed || socket.destroyed) return false;
      return socket.write(data);
    },
    close() {
      if (closing || closed) return;
      closing = true;
      socket.end();
      // A remote that never finishes its side must not pin the socket open forever.
      graceTimer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      graceTimer.unref();
    },
    onData(cb) {
      socket.on('data', (chunk: Buffer) => {
        if (!closing) cb(chunk);
      });
    },
    onClose(cb) {
      if (closed) setImmediate(() => cb(error));
      else closeListeners.push(cb);
    },
    onDrain(cb) {
      socket.on('drain', cb);
    },
  };
}

type Delivery = { kind: 'data'; data: Buffer } | { kind: 'close' };

/** One end of an in-memory pair; delivery is asynchronous (setImmediate) and ordered. */
class MemoryTransport implements Transport {
  peer: MemoryTransport | undefined;
  private readonly inbox: Delivery[] = [];
  private flushScheduled = false;
  private closing = false;
  private closed = false;
  private readonly dataListeners: Array<(chunk: Buffer) => void> = [];
  private readonly closeListeners: Array<(err?: Error) => void> = [];

  constructor(readonly remoteAddress: string) {}

  write(data: Buffer): boolean {
    if (this.closing || this.closed || !this.peer) return false;
    // Copy so the receiver sees what a socket would: bytes detached from the sender's buffer.
    this.peer.enqueue({ kind: 'data', data: Buffer.from(data) });
    return true;
  }

  close(): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    this.peer?.enqueue({ kind: 'close' });
    this.enqueue({ kind: 'close' });
  }

  onData(cb: (chunk: Buffer) => void): void {
    this.dataListeners.push(cb);
    this.schedule();
  }

  onClose(cb: (err?: Error) => void): void {
    if (this.closed) setImmediate(() => cb());
    else this.closeListeners.push(cb);
  }

  onDrain(_cb: () => void): void {
    // Writes never report back-pressure, so there is never a drain to announce.
  }

  private enqueue(delivery: Delivery): void {
    this.inbox.push(delivery);
    this.schedule();
  }

  private schedule(): void {
    if (this.flushScheduled || this.inbox.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.inbox.splice(0);
    for (let i = 0; i < batch.length && !this.closed; i++) {
      const delivery = batch[i] as Delivery;
      if (delivery.kind === 'close') {
        this.closed = true;
        this.closing = true;
        for (const cb of this.closeListeners.splice(0)) cb();
      } else if (this.dataListeners.length === 0) {
        // Hold data until someone listens, as a paused socket would.
        this.inbox.unshift(...batch.slice(i));
        return;
      } else if (!this.closing) {
        for (const cb of this.dataListeners) cb(delivery.data);
      }
    }
    if (this.closed) this.inbox.length = 0;
    this.schedule();
  }
}

/** Two connected in-memory transports, for tests of anything that speaks over a Transport. */
export function memoryTransportPair(): [Transport, Transport] {
  const a = new MemoryTransport('memory:b');
  const b = new MemoryTransport('memory:a');
  a.peer = b;
  b.peer = a;
  return [a, b];
}
