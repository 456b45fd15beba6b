import type { Command } from 'commander';
import { createLogger } from '../common/log.js';
import { resolveMasterAddress } from './settings.js';

interface McpFlags {
  readonly master?: string;
  readonly token?: string;
}

export function registerMcp(program: Command): void {
  program
    .command('mcp')
    .description('serve the Model Context Protocol on stdio, so an AI client can run jobs and DAGs, read logs and use KV')
    .option('--master <host:port,...>', 'master address, or several (a:9090,b:9090: the leader is found among them) (env TITAN_MASTER; default 127.0.0.1:9090)')
    .option('--token <token>', 'an API token or the cluster token (env TITAN_TOKEN, set inside jobs; default: the cluster token in the local master data dir)')
    .action(async (flags: McpFlags) => {
      const address = resolveMasterAddress({
        ...(flags.master !== undefined ? { master: flags.master } : {}),
        ...(flags.token !== undefined ? { token: flags.token } : {}),
      });
      // Loaded here so other commands do not pay for the MCP SDK at startup.
      const { serveStdio } = await import('../mcp/server.js');
      await serveStdio(address, createLogger('mcp', process.env.TITAN_LOG_LEVEL ?? 'info'));
    });
}
