import { randomUUID } from 'node:crypto';
import type { Logger } from '../common/log.js';
import { normaliseModel, placeInference, type Placement } from '../core/inference-placement.js';
import type { InferenceAgentReport, InferenceOutcomeReport } from '../protocol/inference-messages.js';
import type { InferenceOptions } from './config.js';
import { loadOrCreateSigningKeys, type SigningKeys } from './keys.js';
import { AgentRegistry, type AgentRecord } from './registry.js';
import { signInferenceToken } from './tokens.js';

export interface RouteGrant {
  readonly ok: true;
  readonly agentId: string;
  readonly endpoint: string;
  readonly model: string;
  readonly score: number;
  readonly token: string;
  readonly jti: string;
  readonly expiresAt: number;
}

export type RouteRefusal = Extract<Placement, { ok: false }>;

interface Reservation {
  readonly agentId: string;
  readonly expiresAt: number;
}

/**
 * The master's inference coordinator (docs/INFERENCE.md): holds the agents, picks one per
 * request with the pure placement, signs the token for it, and feeds the outcomes the gateways
 * report into each agent's breaker. Every routed request holds a reservation on its agent until
 * the outcome comes back or the token expires, so a burst between two heartbeats spreads out.
 */
export class InferenceCoordinator {
  readonly registry: AgentRegistry;
  readonly counters = { routed: 0, unknownModel: 0, noCapacity: 0, outcomes: 0 };
  private keys: SigningKeys | null = null;
  private readonly reservations = new Map<string, Reservation>();
  private ticker: NodeJS.Timeout | null = null;
  /** Placement walks the agents twice when it has to explain a refusal: a Map iterator would be spent. */
  private readonly agents: Iterable<AgentRecord> = { [Symbol.iterator]: () => this.registry.agents.values() };

  constructor(
    readonly options: InferenceOptions,
    private readonly log: Logger,
  ) {
    this.registry = new AgentRegistry(options.health, options.throughputAlpha, (event) => {
      this.log.info({ agentId: event.agentId, from: event.from, to: event.to, reason: event.reason }, 'inference agent health changed');
    });
  }

  async start(dataDir: string): Promise<void> {
    this.keys = await loadOrCreateSigningKeys(dataDir);
    this.ticker = setInterval(() => this.tick(Date.now()), this.options.tickMs);
    this.ticker.unref();
  }

  close(): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
  }

  get publicKeyPem(): string {
    return this.signing().publicPem;
  }

  get keyId(): string {
    return this.signing().kid;
  }

  report(agentId: string, source: 'worker' | 'grpc', endpoint: string, report: InferenceAgentReport, now: number): AgentRecord {
    return this.registry.report(agentId, source, endpoint, report, now);
  }

  rtt(agentId: string, ms: number): void {
    this.registry.rtt(agentId, ms);
  }

  remove(agentId: string, why: string): void {
    if (this.registry.remove(agentId)) this.log.info({ agentId, why }, 'inference agent removed');
    for (const [jti, r] of this.reservations) if (r.agentId === agentId) this.reservations.delete(jti);
  }

  /** The pure decision plus the reservation: what the route benchmark measures (no signing). */
  place(model: string, now: number): { placement: Placement; agent: AgentRecord | null } {
    this.expireReservations(now);
    const placement = placeInference(this.agents, model, this.options.placement);
    if (!placement.ok) {
      if (placement.reason === 'unknown_model') this.counters.unknownModel += 1;
      else this.counters.noCapacity += 1;
      return { placement, agent: null };
    }
    const agent = this.registry.agents.get(placement.agentId) ?? null;
    if (agent !== null) this.registry.routed(agent);
    this.counters.routed += 1;
    return { placement, agent };
  }

  /** Picks an agent and signs the token the client presents to it. */
  async route(model: string, clientId: string, now: number): Promise<RouteGrant | RouteRefusal> {
    const { placement, agent } = this.place(model, now);
    if (!placement.ok) return placement;
    if (agent === null) throw new Error(`placement chose ${placement.agentId}, which is not registered`);
    const jti = randomUUID();
    const expiresAt = Math.floor(now / 1000) * 1000 + this.options.tokenTtlSeconds * 1000;
    this.reservations.set(jti, { agentId: agent.id, expiresAt });
    const keys = this.signing();
    const name = normaliseModel(model);
    const token = await signInferenceToken(
      keys.privateKey,
      keys.kid,
      { clientId, agentId: agent.id, model: name, jti, ttlSeconds: this.options.tokenTtlSeconds },
      now,
    );
    return { ok: true, agentId: agent.id, endpoint: agent.endpoint, model: name, score: placement.score, token, jti, expiresAt };
  }

  /** A gateway's report of one request: releases its reservation and drives the agent's breaker. */
  outcome(agentId: string, report: InferenceOutcomeReport, now: number): void {
    this.counters.outcomes += 1;
    const agent = this.registry.agents.get(agentId);
    const reservation = report.jti !== undefined ? this.reservations.get(report.jti) : undefined;
    if (reservation !== undefined && report.jti !== undefined) {
      this.reservations.delete(report.jti);
      const holder = this.registry.agents.get(reservation.agentId);
      if (holder !== undefined) this.registry.released(holder);
    }
    if (agent === undefined) return;
    this.registry.outcome(agent, report.outcome, report.tokens, report.evalMs > 0 ? report.evalMs : report.durationMs, now);
    if (report.outcome === 'failure' || report.outcome === 'timeout') {
      this.log.warn(
        { agentId, model: report.model, outcome: report.outcome, error: report.error, status: agent.status },
        'inference request failed on its agent',
      );
    }
  }

  tick(now: number): void {
    this.registry.tick(now);
    this.expireReservations(now);
    for (const agent of this.registry.agents.values()) {
      if (agent.source === 'grpc' && now - agent.lastReportAt > this.options.agentTimeoutMs)
        this.remove(agent.id, `no health report for ${this.options.agentTimeoutMs} ms`);
    }
  }

  private expireReservations(now: number): void {
    if (this.reservations.size === 0) return;
    for (const [jti, r] of this.reservations) {
      // Tokens are issued in expiry order, so the first live one ends the sweep.
      if (r.expiresAt > now) break;
      this.reservations.delete(jti);
      const agent = this.registry.agents.get(r.agentId);
      if (agent !== undefined) this.registry.released(agent);
    }
  }

  private signing(): SigningKeys {
    if (this.keys === null) throw new Error('the inference coordinator is not started: its keys are not loaded yet');
    return this.keys;
  }
}
