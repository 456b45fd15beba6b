import type { McpServer, ToolCallback } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ShapeOutput, ZodRawShapeCompat } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { TitanError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { TitanClient } from '../sdk/client.js';
import type { TitanSession } from './session.js';

/** What every tool group needs: the server to register on, the master connection, a logger (stderr). */
export interface ToolContext {
  readonly server: McpServer;
  readonly session: TitanSession;
  readonly log: Logger;
}

export interface ToolSpec<Shape extends ZodRawShapeCompat> {
  readonly name: string;
  readonly description: string;
  readonly input: Shape;
  /** Only reads state: clients may call it without asking the user. */
  readonly readOnly?: boolean;
  /** Kills or refuses work (cancel, reject). */
  readonly destructive?: boolean;
}

export function jsonResult(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }] };
}

export function errorResult(err: unknown): CallToolResult {
  const message = err instanceof TitanError ? `${err.message} [${err.code}]` : err instanceof Error ? err.message : String(err);
  return { isError: true, content: [{ type: 'text', text: message }] };
}

/**
 * Registers a tool whose handler gets the parsed arguments and a connected client and returns
 * what to answer as JSON; anything it throws is answered as a tool error, never a crash.
 */
export function addTool<Shape extends ZodRawShapeCompat>(
  ctx: ToolContext,
  spec: ToolSpec<Shape>,
  handler: (args: ShapeOutput<Shape>, titan: TitanClient) => Promise<unknown>,
): void {
  const annotations = { readOnlyHint: spec.readOnly ?? false, destructiveHint: spec.destructive ?? false, openWorldHint: false };
  const call = async (args: ShapeOutput<Shape>): Promise<CallToolResult> => {
    try {
      try {
        return jsonResult(await handler(args, await ctx.session.client()));
      } catch (err) {
        // A master restart closes the connection under us: a read is safe to try once more on a new one.
        if (!ctx.session.forgetIfLost(err) || spec.readOnly !== true) throw err;
        return jsonResult(await handler(args, await ctx.session.client()));
      }
    } catch (err) {
      ctx.session.forgetIfLost(err);
      ctx.log.info(
        { tool: spec.name, code: err instanceof TitanError ? err.code : undefined, err: err instanceof Error ? err.message : String(err) },
        'tool call failed',
      );
      return errorResult(err);
    }
  };
  // ToolCallback<Shape> is a conditional type TypeScript cannot resolve for a generic Shape; for a shape it is exactly `call`.
  ctx.server.registerTool(spec.name, { description: spec.description, inputSchema: spec.input, annotations }, call as unknown as ToolCallback<Shape>);
}
