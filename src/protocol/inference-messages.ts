import { z } from 'zod';

/** Message bodies of inference routing (docs/INFERENCE.md), shared by TITAN_PROTO, REST and gRPC. */

const mb = z.number().min(0).max(1e9);

export const InferenceModel = z.object({ name: z.string().min(1).max(300), sizeMb: mb.optional() });

/** What an inference agent says of itself with every heartbeat. */
export const InferenceAgentReport = z.object({
  /** The gateway's port; the host is the address the master sees the worker connect from, unless given. */
  gatewayPort: z.number().int().min(1).max(65535),
  gatewayHost: z.string().min(1).max(255).optional(),
  models: z.array(InferenceModel).max(10_000),
  vramTotalMb: mb,
  vramFreeMb: mb,
  ramTotalMb: mb,
  ramFreeMb: mb,
  cpuPercent: z.number().min(0).max(100),
  running: z.number().int().min(0),
  maxConcurrency: z.number().int().min(1).max(100_000),
  /** Set when the local model server did not answer /api/tags; the agent then offers no models. */
  serverError: z.string().max(2000).optional(),
});
export type InferenceAgentReport = z.infer<typeof InferenceAgentReport>;

/** A client asks where to send a prompt (Ollama's field names plus the OpenAI-style max_tokens). */
export const InferenceRequest = z.object({
  model: z.string().min(1, 'model is required, e.g. "llama3:8b"').max(300),
  prompt: z.string().max(1_000_000).optional(),
  max_tokens: z.number().int().min(1).max(1_000_000).optional(),
  client_id: z.string().min(1).max(200).optional(),
});
export type InferenceRequest = z.infer<typeof InferenceRequest>;

/** The gateway's account of one proxied request; `client_error` and `cancelled` do not move the breaker. */
export const InferenceOutcomeReport = z.object({
  jti: z.string().max(200).optional(),
  model: z.string().max(300),
  outcome: z.enum(['success', 'failure', 'timeout', 'client_error', 'cancelled']),
  tokens: z.number().int().min(0).default(0),
  /** Generation time the server reported (Ollama's eval_duration), else the wall time, in ms. */
  evalMs: z.number().min(0).default(0),
  durationMs: z.number().min(0),
  error: z.string().max(2000).optional(),
});
export type InferenceOutcomeReport = z.infer<typeof InferenceOutcomeReport>;

export const InferenceStatusRequest = z.object({ includeAgents: z.boolean().default(false) });
