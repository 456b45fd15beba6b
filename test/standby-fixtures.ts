import { createServer, type Server } from 'node:net';
import { ErrorCode } from '../src/common/errors.js';
import { Opcode } from '../src/protocol/opcodes.js';
import { Peer } from '../src/protocol/peer.js';
import { tcpTransport } from '../src/protocol/transport.js';
import { StandbyTcp } from '../src/master/standby/standby-tcp.js';
import type { LeaderView } from '../src/master/standby/leader-view.js';

/** A standby responder on 127.0.0.1:0 naming whatever `leader()` says at the moment it is asked. */
export async function startStandby(leader: () => LeaderView): Promise<{ address: string; close: () => Promise<void> }> {
  const standby = new StandbyTcp({ leader, maxFrameSize: 16 * 1024 * 1024, authTimeoutMs: 10_000 });
  const port = await standby.listen('127.0.0.1', 0);
  return { address: `127.0.0.1:${port}`, close: () => standby.close() };
}

/** A listener that accepts and at once closes every connection, as a dying master's port may. */
export async function startSlammer(): Promise<{ address: string; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  return { address: await listen(server), connections: () => count, close: () => closeServer(server) };
}

/**
 * A master that lost its lease after the client authenticated: AUTH (and the opcodes in `accepts`)
 * succeed, every other request is refused with E_NOT_LEADER naming `leader`. It counts the submits
 * and the heartbeats it refused.
 */
export async function startDeposedLeader(
  leader: string,
  accepts: readonly number[] = [],
): Promise<{ address: string; refusedSubmits: () => number; refusedHeartbeats: () => number; close: () => Promise<void> }> {
  let refused = 0;
  let heartbeats = 0;
  const peers = new Set<Peer>();
  const server = createServer((socket) => {
    const peer = new Peer(tcpTransport(socket));
    peers.add(peer);
    peer.onClose(() => peers.delete(peer));
    peer.onRequest((msg, reply) => {
      if (msg.opcode === Opcode.AUTH) return reply.ok({ ok: true, heartbeatIntervalMs: 200 });
      if (accepts.includes(msg.opcode)) return reply.ok({});
      if (msg.opcode === Opcode.JOB_SUBMIT) refused++;
      if (msg.opcode === Opcode.WORKER_HEARTBEAT) heartbeats++;
      reply.error(ErrorCode.NOT_LEADER, `this master lost the lease; the leader is ${leader}`, leader);
    });
  });
  const address = await listen(server);
  return {
    address,
    refusedSubmits: () => refused,
    refusedHeartbeats: () => heartbeats,
    close: async () => {
      for (const peer of peers) peer.close();
      await closeServer(server);
    },
  };
}

/** An address nothing listens on: a port that was bound, then released. */
export async function deadAddress(): Promise<string> {
  const server = createServer();
  const address = await listen(server);
  await closeServer(server);
  return address;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const bound = server.address();
      resolve(`127.0.0.1:${typeof bound === 'object' && bound !== null ? bound.port : 0}`);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
