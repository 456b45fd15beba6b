import type { Server } from 'node:net';

/** Binds `server` (net, tls, http or https) and resolves with the port it got: `port` 0 asks the system for one. */
export async function listenOn(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : port;
}

/** Stops listening and resolves once the server closed; connections must have been ended first. */
export async function closeServer(server: Server | null): Promise<void> {
  if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
}
