import { performance } from 'node:perf_hooks';
import { TitanError, ErrorCode } from '../common/errors.js';
import { hostOf } from '../common/hosts.js';
import { parseBody } from '../protocol/parse-body.js';
import { Opcode } from '../protocol/opcodes.js';
import { InferenceOutcomeReport, InferenceStatusRequest, type InferenceAgentReport } from '../protocol/inference-messages.js';
import type { Peer } from '../protocol/peer.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';
import type { InferencePort } from '../master/inference-port.js';
import type { InferenceCoordinator } from './coordinator.js';
import { publicKeyView, requestInference, statusView, type InferenceHost } from './service.js';

/** A worker's heartbeat carried an agent report: refresh the agent, then time a PING to it (the RTT). */
export function agentHeartbeat(coordinator: InferenceCoordinator, workerId: string, peer: Peer, report: InferenceAgentReport, now: number): void {
  const host = report.gatewayHost ?? hostOf(peer.remoteAddress);
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${report.gatewayPort}`;
  coordinator.report(workerId, 'worker', endpoint, report, now);
  const t0 = performance.now();
  peer.request(Opcode.PING, {}, { timeoutMs: 10_000 }).then(
    () => coordinator.rtt(workerId, performance.now() - t0),
    // A PING that is not answered is a heartbeat that will be missed too; the heartbeat timeout handles it.
    () => undefined,
  );
}

/** INFERENCE_OUTCOME from a worker's gateway. */
export function agentOutcome(coordinator: InferenceCoordinator, workerId: string, msg: IncomingMessage, now: number): void {
  coordinator.outcome(workerId, parseBody(InferenceOutcomeReport, msg), now);
}

/** The inference opcodes a client connection may send (`titan infer`, the SDK); false for any other. */
export function handleInferenceMessage(host: InferenceHost, msg: IncomingMessage, reply: Replier): boolean {
  switch (msg.opcode) {
    case Opcode.INFERENCE_REQUEST:
      requestInference(host, msg.body, 'titan-client', Date.now()).then(
        (result) => {
          if (result.ok) reply.ok(result.grant);
          else if ('invalid' in result) reply.error(ErrorCode.BAD_BODY, `INFERENCE_REQUEST: ${result.invalid}`);
          else reply.error(result.refusal.code === 'E_UNKNOWN_MODEL' ? ErrorCode.UNKNOWN_MODEL : ErrorCode.NO_CAPACITY, result.refusal.error);
        },
        (err: unknown) => reply.error(ErrorCode.INTERNAL, `could not route the request: ${(err as Error).message}`),
      );
      return true;
    case Opcode.INFERENCE_STATUS: {
      const req = parseBody(InferenceStatusRequest, msg);
      reply.ok({ ...statusView(host, req.includeAgents, Date.now()), public_key: publicKeyView(host) });
      return true;
    }
    case Opcode.INFERENCE_OUTCOME:
      throw new TitanError(ErrorCode.INVALID_REQUEST, 'INFERENCE_OUTCOME is sent by workers, not clients');
    default:
      return false;
  }
}

/** The master's InferencePort (master/inference-port.ts) served by this coordinator: plugged in by the composition root. */
export function masterInferencePort(host: InferenceHost): InferencePort {
  const coordinator = host.inference;
  return {
    get publicKeyPem() {
      return coordinator.publicKeyPem;
    },
    agentHeartbeat: (workerId, peer, report, now) => agentHeartbeat(coordinator, workerId, peer, report, now),
    agentOutcome: (workerId, msg, now) => agentOutcome(coordinator, workerId, msg, now),
    handleClientMessage: (msg, reply) => handleInferenceMessage(host, msg, reply),
    workerGone: (workerId, why) => coordinator.remove(workerId, why),
  };
}
