/**
 * The TypeScript SDK, as `import { TitanClient } from 'titan'`. It is also the entry of the light
 * `titan-client` package (packages/client), compiled from this file and what it imports.
 *
 * @example
 * const titan = await TitanClient.connect();
 * const { jobId } = await titan.submit({ command: 'echo hello' });
 * for await (const line of titan.followLogs(jobId)) console.log(line.line);
 */
export { TitanClient, type ClientOptions, type SubmitInput } from './sdk/client.js';
export { KvClient } from './sdk/kv.js';
export { TitanError, ErrorCode } from './common/errors.js';
export { verifyWebhook, WEBHOOK_HEADERS, type WebhookVerdict } from './security/webhook-signature.js';
export type { JobView, DagView, DagStatusView, ClusterStatsView, LogLineView, JobEventView, ServiceView } from './protocol/views.js';
export type { DagJobRequest, JobSubmitRequest, ServicePolicy } from './protocol/messages.js';
