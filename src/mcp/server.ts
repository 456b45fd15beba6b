import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Logger } from '../common/log.js';
import type { MasterAddress } from '../sdk/address.js';
import { registerDagTools } from './dag-tools.js';
import { registerJobTools } from './jobs-tools.js';
import { registerKvTools } from './kv-tools.js';
import { registerServiceTools } from './service-tools.js';
import { TitanSession } from './session.js';

const INSTRUCTIONS =
  'Titan runs jobs on a cluster of workers. Submit a shell command or an inline script (submit_job), or a graph of jobs (submit_dag), ' +
  'then wait_job / wait_dag and read job_logs. Jobs share small values through kv_get / kv_put. list_jobs, list_dags and list_services show what runs; ' +
  "deploy_service, stop_service and restart_service manage long-running services. Ids: a DAG job is <dag_id>.<key>. What a call may do depends on the token's role.";

/** An MCP server exposing Titan's tools; it connects to the master on the first tool call. */
export function createMcpServer(address: MasterAddress, log: Logger): { server: McpServer; session: TitanSession } {
  const server = new McpServer({ name: 'titan', version: '0.1.0' }, { instructions: INSTRUCTIONS });
  const session = new TitanSession(address, log);
  const ctx = { server, session, log };
  registerJobTools(ctx);
  registerDagTools(ctx);
  registerKvTools(ctx);
  registerServiceTools(ctx);
  return { server, session };
}

/**
 * Serves MCP on stdin/stdout until the client closes stdin (or SIGINT/SIGTERM), then closes the
 * master connection. stdout carries only the protocol: logs go to stderr.
 */
export async function serveStdio(address: MasterAddress, log: Logger): Promise<void> {
  const { server, session } = createMcpServer(address, log);
  const transport = new StdioServerTransport();
  const ended = new Promise<string>((resolve) => {
    process.stdin.once('end', () => resolve('stdin closed'));
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    transport.onclose = () => resolve('transport closed');
  });
  await server.connect(transport);
  log.info({ master: `${address.host}:${address.port}` }, 'MCP server ready on stdio');
  const why = await ended;
  log.info({ why }, 'MCP server stopping');
  session.close();
  await server.close();
}
