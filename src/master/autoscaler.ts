import {
  decideScaling,
  forgetPending,
  hostCanServe,
  INITIAL_SCALING_STATE,
  type ScalingAction,
  type ScalingPolicy,
  type ScalingState,
  type SpawnHost,
} from '../core/autoscale.js';
import { Opcode } from '../protocol/opcodes.js';
import { randomUUID } from 'node:crypto';
import { webhookHeaders } from '../security/webhook-signature.js';
import type { JobReads } from './job-ports.js';
import type { Master } from './master.js';
import type { WorkerObserver } from './worker-observer.js';
import { MASTER_DEFAULTS } from './options.js';

/** Tries of one webhook delivery before it is given up. */
const WEBHOOK_ATTEMPTS = 3;

/**
 * The shell around the core's scaling decision: it learns spawnable hosts and spawned workers
 * from registrations, decides again after any change (coalesced into one deadline in the
 * master's timer heap) and when the decision says a window ends, and performs what it decides:
 * WORKER_SPAWN to a host, a POST to the webhook, or a graceful stop of an idle worker.
 */
/** What the autoscaler reads and does on the master. */
export type AutoscalerHost = Pick<Master, 'options' | 'log' | 'deadlines' | 'peerOf' | 'stopWorker'> & {
  readonly reads: Pick<JobReads, 'worker' | 'capacity'>;
};

export class Autoscaler implements WorkerObserver {
  private state: ScalingState = INITIAL_SCALING_STATE;
  private readonly hosts = new Map<string, SpawnHost>();
  private readonly spawnedBy = new Map<string, string>();
  private readonly policy: ScalingPolicy;
  private readonly webhook: string | undefined;
  private readonly webhookSecret: string | undefined;
  private armedAt = Infinity;

  constructor(private readonly master: AutoscalerHost) {
    const o = master.options;
    this.webhook = o.scaleWebhook;
    this.webhookSecret = o.scaleWebhookSecret;
    if (this.webhook !== undefined && this.webhookSecret === undefined) {
      master.log.warn(
        { url: this.webhook },
        'the provisioning webhook is not signed: give --scale-webhook-secret-file so its receiver can tell the master from anyone else',
      );
    }
    this.policy = {
      windowMs: o.scaleWindowMs ?? MASTER_DEFAULTS.scaleWindowMs,
      idleWindowMs: o.scaleIdleMs ?? MASTER_DEFAULTS.scaleIdleMs,
      spawnTimeoutMs: MASTER_DEFAULTS.spawnTimeoutMs,
      webhook: this.webhook !== undefined,
    };
  }

  /** Nothing to do (and nothing to pay per event) until a host, a spawned worker or a webhook exists. */
  private get enabled(): boolean {
    return this.webhook !== undefined || this.hosts.size > 0 || this.spawnedBy.size > 0;
  }

  /** A queued job's reason, told when the autoscaler will act on its pool. */
  explain(requirement: readonly string[], reason: string | null): string | null {
    if (reason === null || !reason.startsWith('waiting for')) return reason;
    const window = `${Math.round(this.policy.windowMs / 100) / 10} s`;
    if (this.webhook !== undefined) return `${reason}; the provisioning webhook is called if it still waits after ${window}`;
    const host = [...this.hosts.values()].find((h) => hostCanServe(h, requirement));
    return host === undefined ? reason : `${reason}; spawnable host ${host.id} is asked for a worker if it still waits after ${window}`;
  }

  spawnedHost(workerId: string): string | undefined {
    return this.spawnedBy.get(workerId);
  }

  workerRegistered(workerId: string, spawn: Omit<SpawnHost, 'id'> | undefined, spawnedBy: string | undefined): void {
    if (spawn !== undefined) this.hosts.set(workerId, { id: workerId, ...spawn });
    else this.hosts.delete(workerId);
    if (spawnedBy !== undefined) this.spawnedBy.set(workerId, spawnedBy);
    this.changed();
  }

  workerLost(workerId: string): void {
    this.hosts.delete(workerId);
    this.changed();
  }

  /** Something that may change the balance of work and slots happened. */
  changed(): void {
    if (this.enabled) this.arm(Date.now());
  }

  private arm(at: number): void {
    if (at >= this.armedAt) return;
    this.armedAt = at;
    this.master.deadlines.set('autoscale', at, () => {
      this.armedAt = Infinity;
      this.decide();
    });
  }

  private decide(): void {
    const now = Date.now();
    const { reads } = this.master;
    const hosts = [...this.hosts.values()].filter((h) => reads.worker(h.id)?.health === 'healthy');
    const decision = decideScaling(this.state, { ...reads.capacity(), spawnedBy: this.spawnedBy, hosts }, this.policy, now);
    this.state = decision.state;
    for (const id of this.spawnedBy.keys()) if (reads.worker(id)?.health === 'dead') this.spawnedBy.delete(id);
    for (const action of decision.actions) this.perform(action);
    if (decision.nextAt !== null) this.arm(decision.nextAt);
  }

  private perform(action: ScalingAction): void {
    const log = this.master.log;
    switch (action.type) {
      case 'spawn': {
        log.info(
          { hostId: action.hostId, workerId: action.workerId, tags: action.tags, pool: action.pool, shortfall: action.shortfall },
          'asking a host for one more worker',
        );
        const peer = this.master.peerOf(action.hostId);
        const refused = (why: string): void => {
          log.warn({ hostId: action.hostId, workerId: action.workerId, why }, 'host did not spawn the worker');
          this.state = forgetPending(this.state, action.workerId);
          this.changed();
        };
        if (peer === undefined) return refused('host not connected');
        peer.request(Opcode.WORKER_SPAWN, { workerId: action.workerId, tags: action.tags, slots: action.slots }, { timeoutMs: 10_000 }).then(
          (answer) => log.info({ hostId: action.hostId, workerId: action.workerId, answer }, 'host spawned a worker'),
          (err: unknown) => refused((err as Error).message),
        );
        return;
      }
      case 'provision':
        this.callWebhook(action);
        return;
      case 'retire':
        log.info({ workerId: action.workerId, hostId: action.hostId, idleMs: action.idleMs }, 'retiring an idle spawned worker');
        this.master.stopWorker(action.workerId);
        return;
      default: {
        const unreachable: never = action;
        throw new Error(`unhandled scaling action ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private callWebhook(action: Extract<ScalingAction, { type: 'provision' }>): void {
    const url = this.webhook;
    if (url === undefined) return;
    const payload = {
      pool: action.pool,
      requirement: action.requirement,
      shortfall: action.shortfall,
      queued: action.queued,
      freeSlots: action.freeSlots,
      at: new Date().toISOString(),
    };
    const body = JSON.stringify(payload);
    const delivery = randomUUID();
    this.master.log.info({ url, delivery, signed: this.webhookSecret !== undefined, ...payload }, 'calling the provisioning webhook');
    this.deliver(url, body, delivery, 1);
  }

  /**
   * One try of a delivery. A network error, a timeout, a 429 or a 5xx is tried again after 1 s,
   * then 2 s, under the same delivery id (signed anew with a fresh timestamp), so a receiver that
   * already acted on it can drop the repeat; any other answer ends it.
   */
  private deliver(url: string, body: string, delivery: string, attempt: number): void {
    const log = this.master.log;
    const again = (why: Record<string, unknown>): void => {
      if (attempt >= WEBHOOK_ATTEMPTS) {
        log.warn(
          { url, delivery, attempt, ...why },
          'provisioning webhook failed; giving up on this delivery (the next window asks again if the pool is still short)',
        );
        return;
      }
      const delayMs = 1000 * 2 ** (attempt - 1);
      log.warn({ url, delivery, attempt, retryInMs: delayMs, ...why }, 'provisioning webhook failed; delivering it again');
      this.master.deadlines.set(`webhook:${delivery}`, Date.now() + delayMs, () => this.deliver(url, body, delivery, attempt + 1));
    };
    const headers = webhookHeaders('provision', body, this.webhookSecret, { delivery });
    fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) }).then(
      (res) => {
        void res.body?.cancel();
        if (res.status === 429 || res.status >= 500) again({ status: res.status });
        else if (!res.ok) log.warn({ url, delivery, status: res.status }, 'provisioning webhook refused the delivery');
      },
      (err: unknown) => again({ err: (err as Error).message }),
    );
  }
}
