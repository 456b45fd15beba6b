import { TitanError, ErrorCode } from '../common/errors.js';
import { Opcode, opcodeName } from '../protocol/opcodes.js';
import {
  ArtifactGetRequest,
  JobFinishedReport,
  JobLogLines,
  JobStartedReport,
  ServiceReadyReport,
  ServiceRestartedReport,
  WorkerHeartbeat,
  WorkerRegisterRequest,
} from '../protocol/messages.js';
import { hostOf } from '../common/hosts.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';
import type { Master } from './master.js';
import { parseBody } from '../protocol/parse-body.js';
import type { Session } from './session.js';
import { leaseMsFor, supersededResult } from '../core/lease.js';
import type { JobOutcome } from '../core/job.js';
import type { Effect } from '../core/effects.js';
import { replyWhenDurable } from './durable-reply.js';

const OK = { ok: true } as const;

/** What the worker operations use: reports into the core, the connection's bookkeeping, logs and services. */
export type WorkerHost = Pick<
  Master,
  | 'workerReports'
  | 'commands'
  | 'reads'
  | 'attachWorker'
  | 'armHeartbeat'
  | 'tell'
  | 'workerMeta'
  | 'vitals'
  | 'services'
  | 'logs'
  | 'watchers'
  | 'artifacts'
  | 'inference'
  | 'options'
  | 'log'
>;

export interface WorkerContext {
  workerId: string | null;
}

/** The opcodes a worker connection may send, once it has authenticated. */
export function handleWorkerMessage(master: WorkerHost, session: Session, ctx: WorkerContext, msg: IncomingMessage, reply: Replier): void {
  const now = Date.now();
  if (msg.opcode === Opcode.WORKER_REGISTER) {
    const reg = parseBody(WorkerRegisterRequest, msg);
    ctx.workerId = reg.workerId;
    master.workerMeta.set(reg.workerId, { version: reg.version ?? 'unknown', startedAt: reg.startedAt ?? null, pid: reg.pid });
    master.attachWorker(reg.workerId, session.peer);
    master.log.info({ workerId: reg.workerId, tags: reg.tags, slots: reg.slots, holding: reg.holding.length }, 'worker registered');
    const effects = master.workerReports.registerWorker(
      {
        id: reg.workerId,
        host: reg.host,
        tags: reg.tags,
        slots: reg.slots,
        resources: reg.resources,
        holding: reg.holding,
        ...(reg.drivers !== undefined ? { drivers: reg.drivers } : {}),
      },
      now,
    );
    const host = hostOf(session.peer.remoteAddress);
    for (const held of reg.holding) {
      if (held.port !== undefined && held.ready === true)
        master.services.ready(held.jobId, { workerId: reg.workerId, host, port: held.port, pid: 0, readyAt: now });
    }
    // Acknowledge before dispatching so the worker has its registration answer first.
    reply.ok({
      ok: true,
      heartbeatIntervalMs: master.options.heartbeatIntervalMs,
      leaseMs: leaseMsFor(master.options.heartbeatTimeoutMs),
      inferencePublicKey: master.inference.publicKeyPem,
    });
    master.commands.apply(effects);
    master.tell('workerRegistered', reg.workerId, reg.spawn, reg.spawnedBy);
    return;
  }
  const workerId = ctx.workerId;
  if (workerId === null) throw new TitanError(ErrorCode.INVALID_REQUEST, `${opcodeName(msg.opcode)} before WORKER_REGISTER: register first`);
  switch (msg.opcode) {
    case Opcode.WORKER_HEARTBEAT: {
      const beat = parseBody(WorkerHeartbeat, msg);
      master.vitals.record(workerId, beat.load1, beat.freeMemoryMb, now);
      if (master.workerReports.heartbeat(workerId, now)) master.armHeartbeat(workerId);
      if (beat.inference !== undefined) master.inference.agentHeartbeat(workerId, session.peer, beat.inference, now);
      reply.ok({ ok: true });
      master.tell('heartbeat', workerId, beat.jobs, beat.dispatches, now);
      return;
    }
    case Opcode.JOB_STARTED: {
      const report = parseBody(JobStartedReport, msg);
      replyWhenDurable(reply, master.commands.applyAndWait(master.workerReports.jobStarted(workerId, report.jobId, report.attempt, now)), () => OK);
      return;
    }
    case Opcode.JOB_FINISHED: {
      const report = parseBody(JobFinishedReport, msg);
      // Refused before it changes anything: the worker keeps the result and sends it again.
      master.commands.refuseWhenStoreFull();
      replyWhenDurable(reply, finishJob(master, workerId, report, now), () => OK);
      return;
    }
    case Opcode.JOB_LOG_LINES: {
      const batch = parseBody(JobLogLines, msg);
      const stored = master.logs.append(batch.lines.map((l) => ({ jobId: batch.jobId, attempt: batch.attempt, stream: l.stream, at: l.at, line: l.line })));
      const told = stored.then((appended) => {
        if (appended) master.watchers.logsAppended(batch.jobId);
      });
      replyWhenDurable(reply, told, () => OK);
      return;
    }
    case Opcode.SERVICE_READY: {
      const report = parseBody(ServiceReadyReport, msg);
      const effects = master.workerReports.serviceReady(workerId, report.jobId, report.attempt, now);
      if (effects.length > 0) {
        master.services.ready(report.jobId, { workerId, host: hostOf(session.peer.remoteAddress), port: report.port, pid: report.pid, readyAt: now });
      }
      replyWhenDurable(reply, master.commands.applyAndWait(effects), () => OK);
      return;
    }
    case Opcode.SERVICE_RESTARTED: {
      const report = parseBody(ServiceRestartedReport, msg);
      const job = master.reads.job(report.jobId);
      if (job !== undefined && job.attempt === report.attempt && job.workerId === workerId) {
        master.services.restarted(report.jobId, report.restarts, report.pid, Date.now());
        master.log.info(
          { jobId: report.jobId, restarts: report.restarts, exitCode: report.exitCode, signal: report.signal },
          'service restarted by its supervisor',
        );
      }
      reply.ok({ ok: true });
      return;
    }
    case Opcode.WORKER_DRAINING: {
      master.workerReports.drainWorker(workerId);
      master.tell('changed');
      reply.ok({ ok: true });
      return;
    }
    case Opcode.INFERENCE_OUTCOME:
      master.inference.agentOutcome(workerId, msg, now);
      reply.ok({ ok: true });
      return;
    case Opcode.ARTIFACT_GET: {
      const req = parseBody(ArtifactGetRequest, msg);
      reply.ok({ data: master.artifacts.get(req.hash) });
      return;
    }
    default:
      throw new TitanError(ErrorCode.INVALID_REQUEST, `${opcodeName(msg.opcode)} is not a worker operation`);
  }
}

type FinishedReport = ReturnType<typeof JobFinishedReport.parse>;

/** Feeds a result (or a hand-back) to the core; resolves once it is on disk, as the worker forgets it once answered. */
async function finishJob(master: WorkerHost, workerId: string, report: FinishedReport, now: number): Promise<void> {
  if (report.stopped === true) {
    await master.commands.applyAndWait(master.workerReports.handBack(workerId, report.jobId, report.attempt, now));
    return;
  }
  const timeout = master.reads.job(report.jobId)?.spec.timeoutSeconds ?? 0;
  const error = report.error ?? (report.timedOut ? `timed out after ${timeout} s; its worker killed its process tree` : undefined);
  const outcome = {
    exitCode: report.exitCode,
    signal: report.signal,
    durationMs: report.durationMs,
    ...(error !== undefined ? { error } : {}),
    ...(report.oom === true ? { oom: true } : {}),
    ...(report.leaseExpired === true ? { leaseExpired: true } : {}),
  };
  const effects = master.workerReports.jobFinished(workerId, report.jobId, report.attempt, outcome, now);
  const recorded = effects.length > 0 ? effects : await supersededResultOfStoredJob(master, workerId, report.jobId, report.attempt, outcome, now);
  await master.commands.applyAndWait(recorded);
}

/** A late result for a job that already ended (no longer in the core's memory): kept in its history. */
async function supersededResultOfStoredJob(
  master: WorkerHost,
  workerId: string,
  jobId: string,
  attempt: number,
  outcome: JobOutcome,
  now: number,
): Promise<Effect[]> {
  if (master.reads.job(jobId) !== undefined) return [];
  const stored = await master.reads.getJob(jobId);
  // Retried while the store was read: the live job's history is the core's to write.
  if (stored === undefined || master.reads.job(jobId) !== undefined) return [];
  master.log.info({ jobId, attempt, workerId }, 'result of a superseded attempt recorded');
  return [supersededResult(stored, workerId, attempt, outcome, now)];
}
