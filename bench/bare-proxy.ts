/**
 * The floor for the gateway's overhead: a bare Node HTTP proxy (keep-alive, no token check, no
 * accounting) as its own process, so the bench can show what one extra process hop costs on this
 * machine. Usage: node dist/bench/bare-proxy.js <upstream-url>; prints "bare proxy on <port>".
 */
import { Agent, createServer, request } from 'node:http';

const upstream = new URL(process.argv[2] ?? 'http://127.0.0.1:11434');
const pool = new Agent({ keepAlive: true, maxSockets: 16 });
const server = createServer((req, res) => {
  const up = request({ hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers, agent: pool }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  up.on('error', () => res.destroy());
  req.pipe(up);
});
server.keepAliveTimeout = 10_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`bare proxy on ${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});
process.once('SIGTERM', () => process.exit(0));
