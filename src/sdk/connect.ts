import { connect as tcpConnect } from 'node:net';
import { TitanError, ErrorCode } from '../common/errors.js';
import { Opcode } from '../protocol/opcodes.js';
import { MASTER_REPLY_LIMITS } from '../protocol/body-limits.js';
import { Peer } from '../protocol/peer.js';
import { tcpTransport } from '../protocol/transport.js';
import type { TlsClientFiles } from '../security/tls.js';

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string;
  readonly role: 'worker' | 'client';
  readonly name?: string;
  readonly connectTimeoutMs?: number;
  /** Speak TLS, verifying the master against this CA (and present a certificate for mTLS). */
  readonly tls?: TlsClientFiles;
}

/** Opens a TCP connection to a master and authenticates; resolves once the master accepted us. */
export async function connectPeer(options: ConnectOptions): Promise<{ peer: Peer; heartbeatIntervalMs: number }> {
  // node:tls costs a CLI start several ms; only a TLS connection loads it.
  const socket =
    options.tls !== undefined
      ? (await import('../security/tls.js')).connectTls(options.host, options.port, options.tls)
      : tcpConnect({ host: options.host, port: options.port });
  const timeoutMs = options.connectTimeoutMs ?? 5_000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TitanError(ErrorCode.TIMEOUT, `could not reach the master at ${options.host}:${options.port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once(options.tls !== undefined ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve();
    });
    const onError = (err: Error): void => {
      clearTimeout(timer);
      const hint = options.tls !== undefined ? 'is it running with --tls, and was its certificate signed by this --ca?' : 'is `titan master` running?';
      reject(new TitanError(ErrorCode.CONNECTION_CLOSED, `could not reach the master at ${options.host}:${options.port}: ${err.message} (${hint})`));
    };
    socket.once('error', onError);
  });
  // Once our side is closed and flushed, nothing more is read: without this, every `titan`
  // command would wait for the master to close its side before the process could exit.
  socket.once('finish', () => socket.unref());
  const peer = new Peer(tcpTransport(socket), { bodyLimits: MASTER_REPLY_LIMITS });
  try {
    const answer = (await peer.request(
      Opcode.AUTH,
      { token: options.token, role: options.role, ...(options.name !== undefined ? { name: options.name } : {}) },
      { timeoutMs },
    )) as {
      heartbeatIntervalMs?: number;
    };
    return { peer, heartbeatIntervalMs: answer.heartbeatIntervalMs ?? 2_000 };
  } catch (err) {
    peer.close();
    throw err;
  }
}
