import { connect, type Socket } from 'node:net';
import { encode } from '@msgpack/msgpack';
import { decodeEnvelope } from '../src/protocol/codec.js';
import { Flags, HEADER_SIZE, type Frame } from '../src/protocol/frame.js';
import { FrameReader } from '../src/protocol/frame-reader.js';

/** What a raw TITAN_PROTO connection saw: the frames it got and whether the master closed it. */
export interface RawOutcome {
  readonly frames: { opcode: number; flags: number; body: unknown }[];
  readonly closedByMaster: boolean;
}

export function frameOf(opcode: number, flags: number, body: Uint8Array): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  header[0] = 2;
  header[1] = opcode;
  header[2] = flags;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

export function msgpackFrame(opcode: number, rid: number, body: unknown): Buffer {
  return frameOf(opcode, 0, encode({ rid, body }));
}

/**
 * Sends `frames` over one raw connection (each after the previous one's answer, when `await`)
 * and collects what comes back until the master closes it or `timeoutMs` passes.
 */
export function rawExchange(port: number, frames: readonly Buffer[], timeoutMs = 20_000): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const reader = new FrameReader({ maxFrameSize: 64 * 1024 * 1024 });
    const seen: RawOutcome['frames'] = [];
    let next = 0;
    const finish = (closedByMaster: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ frames: seen, closedByMaster });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const sendNext = (): void => {
      const frame = frames[next++];
      if (frame !== undefined) socket.write(frame, () => undefined);
    };
    socket.on('connect', sendNext);
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk) as Frame[]) {
        seen.push({ opcode: frame.opcode, flags: frame.flags, body: decodeEnvelope(frame).body });
        if ((frame.flags & Flags.RESPONSE) !== 0 && (frame.flags & Flags.ERROR) === 0) sendNext();
      }
    });
    // A write the master refused to read ends in EPIPE/ECONNRESET: the close is what counts.
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true));
  });
}

/** Polls /healthz every `everyMs` while `action` runs; resolves with each poll's status and time. */
export async function whilePolling<T>(
  httpPort: number,
  action: () => Promise<T>,
  everyMs = 50,
): Promise<{ result: T; polls: { status: number; ms: number }[] }> {
  const polls: { status: number; ms: number }[] = [];
  let running = true;
  const poller = (async () => {
    while (running) {
      const started = performance.now();
      let status = 0;
      try {
        status = (await fetch(`http://127.0.0.1:${httpPort}/healthz`, { signal: AbortSignal.timeout(10_000) })).status;
      } catch {
        status = -1;
      }
      polls.push({ status, ms: performance.now() - started });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  try {
    const result = await action();
    return { result, polls };
  } finally {
    running = false;
    await poller;
  }
}

/** The master's metrics as name → value (first sample of each name). */
export async function metrics(httpPort: number, token: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (match !== null && !out.has(match[1] as string)) out.set(match[1] as string, Number(match[2]));
  }
  return out;
}
