import { TitanError, ErrorCode } from '../common/errors.js';
import type { Effect } from '../core/effects.js';
import { isFinal } from '../core/job.js';
import { Opcode, opcodeName } from '../protocol/opcodes.js';
import {
  ArtifactGetRequest,
  ArtifactPutRequest,
  JobListRequest,
  JobLogsRequest,
  JobRef,
  JobSubmitBatchRequest,
  JobSubmitRequest,
  JobWaitRequest,
  WorkerRef,
} from '../protocol/messages.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';
import { toJobView, type JobView } from './job-view.js';
import { activeJobIds, jobView } from './find-job.js';
import { listJobPage } from './job-list.js';
import type { Master } from './master.js';
import { parseBody } from '../protocol/parse-body.js';
import type { ClientContext } from './client-context.js';
import { clusterStats, type StatsHost } from './stats.js';
import { streamLogs, type LogStreamHost } from './log-stream.js';
import { handleDagMessage, type DagRequestHost } from './dag-requests.js';
import { handleServiceMessage, type ServiceHost } from './service-requests.js';
import { handleKvMessage, type KvHost } from './kv-requests.js';
import { handleScheduleMessage, type ScheduleRequestHost } from './schedule-requests.js';
import { handlePipelineSubmit, type PipelineRequestHost } from './pipeline-requests.js';
import { replyError, replyWhenDurable, replyWhenRead } from './durable-reply.js';
import { checkRunnable } from './isolation-spec.js';
import { jobSpecOf } from './job-spec.js';
import { ownerOf } from '../security/policy.js';

type SubmitBody = ReturnType<typeof JobSubmitRequest.parse>;

/** What the client operations use: the job ports and the parts beside them. */
export type ClientHost = DagRequestHost &
  ServiceHost &
  KvHost &
  ScheduleRequestHost &
  PipelineRequestHost &
  StatsHost &
  LogStreamHost &
  Pick<Master, 'retention' | 'stopWorker' | 'inference' | 'newJobId'>;

/** The opcodes a CLI or SDK connection may send, once it has authenticated. */
export function handleClientMessage(master: ClientHost, session: ClientContext, msg: IncomingMessage, reply: Replier): void {
  switch (msg.opcode) {
    case Opcode.PING:
      reply.ok({ pong: true, at: Date.now() });
      return;
    case Opcode.JOB_SUBMIT: {
      replyWhenDurable(reply, submit(master, session, [parseBody(JobSubmitRequest, msg)]), ([jobId]) => ({ jobId }));
      return;
    }
    case Opcode.JOB_SUBMIT_BATCH:
      replyWhenDurable(reply, submit(master, session, parseBody(JobSubmitBatchRequest, msg).jobs), (jobIds) => ({ jobIds }));
      return;
    case Opcode.JOB_STATUS:
      replyWhenRead(reply, jobView(master, parseBody(JobRef, msg).jobId));
      return;
    case Opcode.JOB_LIST: {
      const req = parseBody(JobListRequest, msg);
      const page = listJobPage(master, session, { limit: req.limit, ...(req.states !== undefined ? { states: req.states } : {}) });
      replyWhenRead(
        reply,
        page.then(({ jobs }) => ({ jobs })),
      );
      return;
    }
    case Opcode.JOB_CANCEL: {
      const { jobId } = parseBody(JobRef, msg);
      replyWhenDurable(reply, master.commands.applyAndWait(master.commands.cancel(jobId, Date.now())), () => jobView(master, jobId));
      return;
    }
    case Opcode.JOB_WAIT:
      waitForJob(master, session, parseBody(JobWaitRequest, msg), reply);
      return;
    case Opcode.JOB_LOGS:
      streamLogs(master, session, parseBody(JobLogsRequest, msg), reply);
      return;
    case Opcode.CLUSTER_STATS:
      replyWhenRead(reply, clusterStats(master));
      return;
    case Opcode.STORE_GC:
      void master.retention.pass().then(
        (summary) => reply.ok({ ...summary, retentionMs: master.retention.retentionMs }),
        (err: unknown) => reply.error(ErrorCode.INTERNAL, `retention pass failed: ${(err as Error).message}`),
      );
      return;
    case Opcode.WORKER_SHUTDOWN: {
      const { workerId } = parseBody(WorkerRef, msg);
      if (!master.stopWorker(workerId)) throw new TitanError(ErrorCode.UNKNOWN_WORKER, `no connected worker ${workerId}: list them with \`titan workers\``);
      master.log.info({ workerId }, 'worker asked to shut down');
      reply.ok({ workerId, draining: true });
      return;
    }
    case Opcode.PIPELINE_SUBMIT:
      handlePipelineSubmit(master, session, msg, reply);
      return;
    case Opcode.ARTIFACT_PUT: {
      const req = parseBody(ArtifactPutRequest, msg);
      const data = typeof req.data === 'string' ? Buffer.from(req.data, req.encoding === 'base64' ? 'base64' : 'utf8') : req.data;
      replyWhenDurable(reply, master.artifacts.put(data), (hash) => ({ hash }));
      return;
    }
    case Opcode.ARTIFACT_GET: {
      const { hash } = parseBody(ArtifactGetRequest, msg);
      replyWhenRead(reply, artifactFor(master, session, hash));
      return;
    }
    default:
      if (handleDagMessage(master, session, msg, reply)) return;
      if (handleServiceMessage(master, session, msg, reply)) return;
      if (handleKvMessage(master, msg, reply)) return;
      if (handleScheduleMessage(master, msg, reply)) return;
      if (master.inference.handleClientMessage(msg, reply)) return;
      throw new TitanError(ErrorCode.INVALID_REQUEST, `${opcodeName(msg.opcode)} is not a client operation`);
  }
}

/** A namespaced token reads bytes only through its own keys or jobs: hashes are not secrets. */
async function artifactFor(master: ClientHost, session: ClientContext, hash: string): Promise<{ data: Buffer }> {
  const prefix = session.idPrefix;
  if (prefix !== '' && !(await master.reads.artifactReachable(hash, prefix))) {
    throw new TitanError(
      ErrorCode.UNKNOWN_ARTIFACT,
      `no artifact ${hash} reachable from namespace ${prefix.slice(0, -1)}: read artifacts through a key (titan artifact get) or a job of the namespace`,
    );
  }
  return { data: master.artifacts.get(hash) };
}

/**
 * Validates every job of the batch first, so a batch is accepted whole or not at all. The ids a
 * batch chooses are looked up in the store first; every check after that is made with no await
 * before the submit, so nothing can take an id (or the quota) in between.
 */
async function submit(master: ClientHost, session: ClientContext, bodies: readonly SubmitBody[]): Promise<string[]> {
  master.commands.refuseWhenStoreFull();
  const chosen = bodies.flatMap((body) => (body.id !== undefined ? [body.id] : []));
  const stored = chosen.length === 0 ? new Map<string, unknown>() : await master.reads.jobStates(chosen);
  master.commands.refuseWhenStoreFull();
  const ids = new Set<string>();
  if (session.identity !== null) master.security.checkQuota(session.identity, bodies.length, activeJobIds(master));
  for (const body of bodies) {
    checkRunnable(body, body.name !== undefined ? `job "${body.name}"` : 'the job');
    if (body.run.kind === 'script' && !master.artifacts.has(body.run.artifact)) {
      throw new TitanError(ErrorCode.UNKNOWN_ARTIFACT, `script ${body.run.fileName} (${body.run.artifact}) was not uploaded: ARTIFACT_PUT it first`);
    }
    if (body.id === undefined) continue;
    if (ids.has(body.id) || master.reads.job(body.id) !== undefined || stored.has(body.id)) {
      throw new TitanError(ErrorCode.INVALID_REQUEST, `job id ${body.id} is already in use; pick another or omit it`);
    }
    ids.add(body.id);
  }
  const now = Date.now();
  const effects: Effect[] = [];
  const owner = ownerOf(session.identity);
  const jobIds = bodies.map((body) => {
    const jobId = body.id ?? session.idPrefix + master.newJobId();
    const spec = jobSpecOf(body);
    effects.push(...master.commands.submit(jobId, owner === undefined ? spec : { ...spec, owner }, now));
    return jobId;
  });
  await master.commands.applyAcknowledged(effects);
  return jobIds;
}

function waitForJob(master: ClientHost, session: ClientContext, req: { jobId: string; timeoutMs?: number | undefined }, reply: Replier): void {
  void jobView(master, req.jobId).then(
    (view) => watchJob(master, session, req, view, reply),
    (err: unknown) => replyError(reply, err),
  );
}

function watchJob(master: ClientHost, session: ClientContext, req: { jobId: string; timeoutMs?: number | undefined }, view: JobView, reply: Replier): void {
  if (isFinal(view.state)) {
    reply.ok(view);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  let answered = false;
  const answer = (final: Promise<JobView>): void => {
    if (answered) return;
    answered = true;
    if (timer !== undefined) clearTimeout(timer);
    stop();
    forget();
    replyWhenRead(reply, final);
  };
  const stop = master.watchers.onFinished(req.jobId, (job) => answer(Promise.resolve(toJobView(job))));
  const forget = session.onClose(stop);
  if (req.timeoutMs !== undefined) {
    timer = setTimeout(() => answer(jobView(master, req.jobId)), req.timeoutMs);
    timer.unref();
  }
  // Out of memory yet not final when read: its end is being written, or was (its watchers told)
  // before this one was registered. Read after registering, the store says which.
  if (master.reads.job(req.jobId) === undefined) {
    void jobView(master, req.jobId).then(
      (again) => isFinal(again.state) && answer(Promise.resolve(again)),
      () => undefined,
    );
  }
}
