import type { WireLog } from '../common/wire-log.js';
import type { Transport } from './transport.js';

// Frames queued in one turn of the event loop go out as one transport write, up to this many bytes.
const COALESCE_LIMIT = 64 * 1024;

/**
 * Outgoing frames of one connection. Many small frames issued in the same turn of the event loop
 * (a burst of replies) cost one write, not one each; a write the transport cannot absorb raises
 * needDrain. The write waits for setImmediate rather than a microtask, so frames sent from all
 * the I/O callbacks of one poll phase (a worker's jobs exiting together, several workers'
 * reports answered) share it; close paths flush explicitly first.
 */
export class Outbox {
  private queue: Buffer[] = [];
  private bytes = 0;
  private scheduled = false;
  private needDrain = false;
  private closed = false;
  private readonly drainListeners: Array<() => void> = [];
  private readonly flushTask = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    private readonly transport: Transport,
    private readonly log: WireLog,
  ) {
    transport.onDrain(() => {
      if (!this.needDrain) return;
      this.needDrain = false;
      for (const cb of this.drainListeners) {
        try {
          cb();
        } catch (err) {
          this.log.error({ err }, 'onDrain listener threw');
        }
      }
    });
  }

  get writableNeedDrain(): boolean {
    return this.needDrain;
  }

  onDrain(cb: () => void): void {
    this.drainListeners.push(cb);
  }

  send(frame: Buffer): void {
    if (this.closed) return;
    if (frame.length >= COALESCE_LIMIT) {
      this.flush();
      this.write(frame);
      return;
    }
    this.queue.push(frame);
    this.bytes += frame.length;
    if (this.bytes >= COALESCE_LIMIT) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushTask);
    }
  }

  /** Writes everything queued now, in one write. */
  flush(): void {
    const queue = this.queue;
    if (queue.length === 0) return;
    const data = queue.length === 1 ? (queue[0] as Buffer) : Buffer.concat(queue, this.bytes);
    this.queue = [];
    this.bytes = 0;
    this.write(data);
  }

  /** Drops what is queued and ignores later sends (the connection is gone). */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.bytes = 0;
  }

  private write(data: Buffer): void {
    if (!this.transport.write(data)) this.needDrain = true;
  }
}
