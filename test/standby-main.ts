// A standby responder as a process of its own, for the Python SDK's tests: `node standby-main.js <leader host:port>`
// prints `standby on 127.0.0.1:<port>` and names that leader until it is killed; each line read on
// stdin names a new one (`-`: none known, as between two leaders).
import { createInterface } from 'node:readline';
import { StandbyTcp } from '../src/master/standby/standby-tcp.js';

let leader: string | null = process.argv[2] ?? null;
const standby = new StandbyTcp({ leader: () => ({ tcp: leader, http: null, epoch: 1 }), maxFrameSize: 16 * 1024 * 1024, authTimeoutMs: 10_000 });
const port = await standby.listen('127.0.0.1', 0);
createInterface({ input: process.stdin }).on('line', (line) => {
  leader = line.trim() === '-' || line.trim() === '' ? null : line.trim();
  process.stdout.write(`leader ${leader ?? '-'}\n`);
});
process.stdout.write(`standby on 127.0.0.1:${port}\n`);
