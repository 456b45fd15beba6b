import {
  admitsTrial,
  advanceHealth,
  initialHealth,
  noteRouted,
  observeResources,
  recordOutcome,
  statusOf,
  type AgentHealth,
  type HealthConfig,
  type HealthStep,
  type RequestOutcome,
  type Transition,
} from '../core/inference-health.js';
import { normaliseModel, type AgentSnapshot, type AgentStatus } from '../core/inference-placement.js';
import type { InferenceAgentReport } from '../protocol/inference-messages.js';

/** One agent as the coordinator holds it; it is its own routing snapshot, so routing allocates nothing. */
export interface AgentRecord extends AgentSnapshot {
  readonly id: string;
  source: 'worker' | 'grpc';
  endpoint: string;
  status: AgentStatus;
  models: Map<string, number | undefined>;
  vramTotalMb: number;
  vramFreeMb: number;
  ramTotalMb: number;
  ramFreeMb: number;
  cpuPercent: number;
  /** max(what the agent reported, requests routed to it and not yet reported back). */
  running: number;
  reportedRunning: number;
  reserved: number;
  maxConcurrency: number;
  rttMs: number | null;
  tokensPerSec: number | null;
  admitsTrial: boolean;
  health: AgentHealth;
  serverError: string | undefined;
  registeredAt: number;
  lastReportAt: number;
  counts: { routed: number; success: number; failure: number; timeout: number; clientError: number; cancelled: number; tokens: number };
  lastTransition: (Transition & { readonly at: number }) | null;
}

export interface TransitionEvent extends Transition {
  readonly agentId: string;
  readonly at: number;
}

const RECENT_TRANSITIONS = 200;

/**
 * The agents in registration order (a Map keeps insertion order, which makes ties stable) and
 * the health bookkeeping around the pure breaker: every transition is kept (the last 200) and
 * counted by target state, for status and metrics.
 */
export class AgentRegistry {
  readonly agents = new Map<string, AgentRecord>();
  readonly recent: TransitionEvent[] = [];
  readonly transitionCounts: Record<AgentStatus, number> = { healthy: 0, degraded: 0, 'half-open': 0, offline: 0 };

  constructor(
    private readonly health: HealthConfig,
    private readonly alpha: number,
    private readonly onTransition: (event: TransitionEvent) => void,
  ) {}

  /** Creates or refreshes an agent from what it reported. */
  report(id: string, source: 'worker' | 'grpc', endpoint: string, report: InferenceAgentReport, now: number): AgentRecord {
    let agent = this.agents.get(id);
    if (agent === undefined) {
      const health = initialHealth(now);
      agent = {
        id,
        source,
        endpoint,
        status: statusOf(health),
        models: new Map(),
        vramTotalMb: 0,
        vramFreeMb: 0,
        ramTotalMb: 0,
        ramFreeMb: 0,
        cpuPercent: 0,
        running: 0,
        reportedRunning: 0,
        reserved: 0,
        maxConcurrency: 1,
        rttMs: null,
        tokensPerSec: null,
        admitsTrial: true,
        health,
        serverError: undefined,
        registeredAt: now,
        lastReportAt: now,
        counts: { routed: 0, success: 0, failure: 0, timeout: 0, clientError: 0, cancelled: 0, tokens: 0 },
        lastTransition: null,
      };
      this.agents.set(id, agent);
    }
    agent.source = source;
    agent.endpoint = endpoint;
    agent.models = new Map(report.models.map((m) => [normaliseModel(m.name), m.sizeMb]));
    agent.vramTotalMb = report.vramTotalMb;
    agent.vramFreeMb = report.vramFreeMb;
    agent.ramTotalMb = report.ramTotalMb;
    agent.ramFreeMb = report.ramFreeMb;
    agent.cpuPercent = report.cpuPercent;
    agent.reportedRunning = report.running;
    agent.maxConcurrency = report.maxConcurrency;
    agent.serverError = report.serverError;
    agent.lastReportAt = now;
    this.apply(agent, observeResources(agent.health, report, now, this.health), now);
    return agent;
  }

  remove(id: string): boolean {
    return this.agents.delete(id);
  }

  /** RTT measured by the master; smoothed so one slow ping does not swing routing. */
  rtt(id: string, ms: number): void {
    const agent = this.agents.get(id);
    if (agent !== undefined) agent.rttMs = agent.rttMs === null ? ms : agent.rttMs * 0.5 + ms * 0.5;
  }

  routed(agent: AgentRecord): void {
    agent.reserved += 1;
    agent.counts.routed += 1;
    agent.health = noteRouted(agent.health);
    this.refresh(agent);
  }

  released(agent: AgentRecord): void {
    if (agent.reserved > 0) agent.reserved -= 1;
    this.refresh(agent);
  }

  outcome(agent: AgentRecord, outcome: RequestOutcome | 'client_error' | 'cancelled', tokens: number, evalMs: number, now: number): void {
    if (outcome === 'client_error') agent.counts.clientError += 1;
    else if (outcome === 'cancelled') agent.counts.cancelled += 1;
    else agent.counts[outcome] += 1;
    agent.counts.tokens += tokens;
    if (outcome === 'success' && tokens > 0 && evalMs > 0) {
      const sample = (tokens * 1000) / evalMs;
      agent.tokensPerSec = agent.tokensPerSec === null ? sample : agent.tokensPerSec * (1 - this.alpha) + sample * this.alpha;
    }
    if (outcome === 'client_error' || outcome === 'cancelled') return;
    this.apply(agent, recordOutcome(agent.health, outcome, now, this.health), now);
  }

  /** Moves breakers along in time; cheap enough to run for every agent a few times a second. */
  tick(now: number): void {
    for (const agent of this.agents.values()) {
      if (agent.health.breaker !== 'closed') this.apply(agent, advanceHealth(agent.health, now, this.health), now);
    }
  }

  private apply(agent: AgentRecord, step: HealthStep, now: number): void {
    agent.health = step.health;
    this.refresh(agent);
    if (step.transition === null) return;
    const event: TransitionEvent = { agentId: agent.id, at: now, ...step.transition };
    agent.lastTransition = { ...step.transition, at: now };
    this.transitionCounts[step.transition.to] += 1;
    this.recent.push(event);
    if (this.recent.length > RECENT_TRANSITIONS) this.recent.splice(0, this.recent.length - RECENT_TRANSITIONS);
    this.onTransition(event);
  }

  private refresh(agent: AgentRecord): void {
    agent.status = statusOf(agent.health);
    agent.admitsTrial = admitsTrial(agent.health, this.health);
    agent.running = Math.max(agent.reportedRunning, agent.reserved);
  }
}
