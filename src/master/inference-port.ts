import type { InferenceAgentReport } from '../protocol/inference-messages.js';
import type { Peer } from '../protocol/peer.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';

/**
 * What the master asks of inference routing. The coordinator lives above the master
 * (src/inference); the composition root plugs an adapter of it in here (inference/master-port.ts).
 */
export interface InferencePort {
  /** Handed to each worker at registration, so its gateway can check the tokens it is shown. */
  readonly publicKeyPem: string;
  /** A worker's heartbeat carried its agent's report. */
  agentHeartbeat(workerId: string, peer: Peer, report: InferenceAgentReport, now: number): void;
  /** INFERENCE_OUTCOME from a worker's gateway. */
  agentOutcome(workerId: string, msg: IncomingMessage, now: number): void;
  /** Serves the inference opcodes a client may send; false for any other. */
  handleClientMessage(msg: IncomingMessage, reply: Replier): boolean;
  /** The worker's connection is gone: its agent serves no more. */
  workerGone(workerId: string, why: string): void;
}
