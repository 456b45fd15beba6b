import type { Command } from 'commander';
import { TitanClient } from '../sdk/client.js';
// From the SDK itself rather than through settings.ts, which would be one more module for every client command to load.
import { resolveMasterAddress } from '../sdk/address.js';

export interface GlobalFlags {
  readonly master?: string;
  readonly token?: string;
  readonly json?: boolean;
  readonly tls?: boolean;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** Adds the connection flags every client command shares. */
export function withClientFlags(command: Command): Command {
  return command
    .option('--master <host:port,...>', 'master address, or several (a:9090,b:9090: the leader is found among them) (env TITAN_MASTER; default 127.0.0.1:9090)')
    .option('--token <token>', 'an API token or the cluster token (env TITAN_TOKEN, set inside jobs; default: the cluster token in the local master data dir)')
    .option('--json', 'machine-readable output')
    .option('--tls', 'speak TLS to the master (env TITAN_TLS=1; implied by --ca)')
    .option('--ca <file>', 'CA certificate the master must be signed by (env TITAN_CA; default ~/.titan/certs/ca.crt)')
    .option('--cert <file>', 'client certificate, for a master with --mtls (env TITAN_CERT)')
    .option('--key <file>', 'client private key (env TITAN_KEY)');
}

/** Runs the action with a client (connected by its first request), and always closes the connection. */
export async function withClient<T>(flags: GlobalFlags, action: (client: TitanClient) => Promise<T>): Promise<T> {
  const address = resolveMasterAddress({
    ...(flags.master !== undefined ? { master: flags.master } : {}),
    ...(flags.token !== undefined ? { token: flags.token } : {}),
    ...(flags.tls !== undefined ? { tls: flags.tls } : {}),
    ...(flags.ca !== undefined ? { ca: flags.ca } : {}),
    ...(flags.cert !== undefined ? { cert: flags.cert } : {}),
    ...(flags.key !== undefined ? { key: flags.key } : {}),
  });
  // Connects with the first request: TitanClient.connect would spend a PING round trip first, and
  // a wrong address or token fails the first request with the same error.
  const client = new TitanClient(address);
  try {
    return await action(client);
  } finally {
    client.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
