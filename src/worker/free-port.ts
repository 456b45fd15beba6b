import { createServer } from 'node:net';

/**
 * A port nothing listens on right now, chosen by the OS: listen on port 0, read the port, close.
 * Another process could take it before the service binds it; the readiness probe would then find
 * the service crash-looping on EADDRINUSE rather than silently answering for someone else.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error(`the OS gave no port on ${host}`))));
    });
  });
}
