import type { Command } from 'commander';
import { TitanClient } from '../sdk/client.js';
import { resolveMasterAddress } from './settings.js';

export interface GlobalFlags {
  readonly master?: string;
  readonly token?: string;
  readonly json?: boolean;
}

/** Adds the connection flags every client command shares. */
export function withClientFlags(command: Command): Command {
  return command
    .option('--master <host:port>', 'master address (env TITAN_MASTER; default 127.0.0.1:9090)')
    .option('--token <token>', 'cluster token (env TITAN_TOKEN; default: read from the local master data dir)')
    .option('--json', 'machine-readable output');
}

/** Connects, runs the action, and always closes the connection. */
export async function withClient<T>(flags: GlobalFlags, action: (client: TitanClient) => Promise<T>): Promise<T> {
  const address = resolveMasterAddress({
    ...(flags.master !== undefined ? { master: flags.master } : {}),
    ...(flags.token !== undefined ? { token: flags.token } : {}),
  });
  const client = await TitanClient.connect(address);
  try {
    return await action(client);
  } finally {
    client.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
