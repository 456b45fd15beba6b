import type { Logger } from '../common/log.js';
import type { InferenceAgentReport, InferenceOutcomeReport } from '../protocol/inference-messages.js';
import { AgentProbe } from './agent-probe.js';
import { InferenceGateway } from './gateway.js';

/** A worker's inference settings (`titan worker --inference URL ...`). */
export interface InferenceAgentOptions {
  readonly serverUrl: string;
  /** Where the gateway listens (port 0: any free port). */
  readonly listenHost: string;
  readonly listenPort: number;
  /** The host clients should dial, when not the address the master sees this worker at. */
  readonly advertiseHost?: string;
  readonly maxConcurrency: number;
  readonly vramTotalMb?: number;
  readonly vramFreeMb?: number;
  readonly requestTimeoutMs: number;
}

export const INFERENCE_AGENT_DEFAULTS = { listenHost: '127.0.0.1', listenPort: 11500, maxConcurrency: 4, requestTimeoutMs: 300_000 } as const;

/**
 * The inference side of a worker: the probe that fills each heartbeat's agent report and the
 * gateway that serves token-bearing requests; outcomes go to the master through `report`.
 */
export class InferenceAgent {
  private readonly probe: AgentProbe;
  private readonly gateway: InferenceGateway;
  private port = 0;

  constructor(
    agentId: string,
    private readonly options: InferenceAgentOptions,
    log: Logger,
    report: (outcome: InferenceOutcomeReport) => void,
  ) {
    this.probe = new AgentProbe({
      serverUrl: options.serverUrl,
      ...(options.vramTotalMb !== undefined ? { vramTotalMb: options.vramTotalMb } : {}),
      ...(options.vramFreeMb !== undefined ? { vramFreeMb: options.vramFreeMb } : {}),
    });
    this.gateway = new InferenceGateway({
      agentId,
      serverUrl: options.serverUrl,
      host: options.listenHost,
      port: options.listenPort,
      maxConcurrency: options.maxConcurrency,
      requestTimeoutMs: options.requestTimeoutMs,
      maxBodyBytes: 16 * 1024 * 1024,
      log,
      onOutcome: report,
    });
  }

  /** Binds the gateway and takes the first reading; resolves with the gateway's port. */
  async start(): Promise<number> {
    this.port = await this.gateway.start();
    await this.probe.refresh();
    return this.port;
  }

  close(): Promise<void> {
    return this.gateway.close();
  }

  setPublicKey(pem: string): Promise<void> {
    return this.gateway.setPublicKey(pem);
  }

  /** The last reading as a heartbeat's agent report; starts the next reading in the background. */
  report(): InferenceAgentReport {
    const r = this.probe.reading;
    void this.probe.refresh();
    return {
      gatewayPort: this.port,
      ...(this.options.advertiseHost !== undefined ? { gatewayHost: this.options.advertiseHost } : {}),
      models: [...r.models],
      vramTotalMb: r.vramTotalMb,
      vramFreeMb: r.vramFreeMb,
      ramTotalMb: r.ramTotalMb,
      ramFreeMb: r.ramFreeMb,
      cpuPercent: r.cpuPercent,
      running: this.gateway.active,
      maxConcurrency: this.options.maxConcurrency,
      ...(r.serverError !== undefined ? { serverError: r.serverError } : {}),
    };
  }
}
