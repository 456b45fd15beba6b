import { ErrorCode, TitanError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { MasterAddress } from '../sdk/address.js';
import { TitanClient } from '../sdk/client.js';

/**
 * The MCP server's one connection to the master, dialled on the first tool call (so the server
 * starts and lists its tools even while the master is down) and dialled again after it is lost.
 */
export class TitanSession {
  private current: Promise<TitanClient> | null = null;
  private closed = false;

  constructor(
    private readonly address: MasterAddress,
    private readonly log: Logger,
  ) {}

  client(): Promise<TitanClient> {
    if (this.closed) return Promise.reject(new TitanError(ErrorCode.CONNECTION_CLOSED, 'the MCP server is shutting down'));
    if (this.current === null) {
      const dialling = TitanClient.connect(this.address);
      this.current = dialling;
      void dialling.then(
        () => this.log.info({ master: `${this.address.host}:${this.address.port}` }, 'connected to the master'),
        () => {
          if (this.current === dialling) this.current = null;
        },
      );
    }
    return this.current;
  }

  /** After a lost connection the next call dials again instead of failing forever; true when err was one. */
  forgetIfLost(err: unknown): boolean {
    if (!(err instanceof TitanError) || err.code !== ErrorCode.CONNECTION_CLOSED) return false;
    const lost = this.current;
    this.current = null;
    void lost?.then(
      (c) => c.close(),
      () => undefined,
    );
    return true;
  }

  close(): void {
    this.closed = true;
    const last = this.current;
    this.current = null;
    void last?.then(
      (c) => c.close(),
      () => undefined,
    );
  }
}
