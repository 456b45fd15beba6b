import assert from 'node:assert/strict';
import { connect } from 'node:net';

/**
 * A client of the original Java Titan's protocol v1, written from its description (issue 5 §3),
 * not from this repo's code: an 8-byte header (version 1, opcode, flags 0, spare 0, length u32
 * big-endian), a UTF-8 payload, one request and one reply per connection; only the reply's
 * text matters.
 */
export const OP = {
  REGISTER: 0x02,
  SUBMIT_JOB: 0x03,
  SUBMIT_DAG: 0x04,
  STOP: 0x07,
  STATS: 0x08,
  STATS_JSON: 0x09,
  KILL_WORKER: 0x11,
  GET_LOGS: 0x16,
  UPLOAD_ASSET: 0x53,
  FETCH_ASSET: 0x54,
  GET_JOB_STATUS: 0x55,
  CANCEL_JOB: 0x56,
  KV_SET: 0x60,
  KV_GET: 0x61,
  KV_SADD: 0x62,
  KV_SMEMBERS: 0x63,
  ACK: 0x50,
  ERROR: 0x51,
} as const;

export interface V1Reply {
  readonly opcode: number;
  readonly text: string;
}

export function v1(port: number, opcode: number, payload: string): Promise<V1Reply> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply (and close) to opcode ${opcode} within 10 s`));
    }, 10_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    // The master closes the connection after its one reply: the reply is complete at 'end'.
    socket.on('end', () => {
      clearTimeout(timer);
      socket.end();
      const all = Buffer.concat(chunks);
      if (all.length < 8 || all[0] !== 1) return reject(new Error(`not a v1 reply: ${all.toString('hex').slice(0, 40)}`));
      const length = all.readUInt32BE(4);
      assert.equal(all.length, 8 + length, 'exactly one reply on the connection');
      resolve({ opcode: all[1] ?? -1, text: all.subarray(8).toString('utf8') });
    });
    const body = Buffer.from(payload, 'utf8');
    const header = Buffer.alloc(8);
    header[0] = 1;
    header[1] = opcode;
    header.writeUInt32BE(body.length, 4);
    // Header and payload in separate writes: the master must not care how the bytes are cut.
    socket.write(header, () => socket.write(body));
  });
}

export const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** `ID|RUN_PAYLOAD|file|args|<base64>|REQ|PRIORITY|DELAY_MS|[parents]`, as the original SDK writes it. */
export function runPayload(id: string, file: string, args: string, script: string, parents: string[], affinity = false): string {
  return `${id}|RUN_PAYLOAD|${file}|${args}|${b64(script)}|GENERAL|1|0|[${parents.join(',')}]${affinity ? '|AFFINITY' : ''}`;
}
