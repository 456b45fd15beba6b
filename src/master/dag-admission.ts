import { setImmediate as nextTurn } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { ErrorCode, TitanError } from '../common/errors.js';
import { runSteps, runStepsInTurns } from '../common/steps.js';
import type { Effect } from '../core/effects.js';
import { DagAddJobsRequest, DagSubmitRequest } from '../protocol/messages.js';
import { bothDelayAndAt } from '../protocol/parse-body.js';
import { parseDagJobsBody } from '../protocol/parse-body-sliced.js';
import type { IncomingMessage } from '../protocol/replier.js';
import { ownerOf } from '../security/policy.js';
import type { ClientContext } from './client-context.js';
import { orderSteps } from './dag-order.js';
import type { JobOwner } from '../core/job.js';
import {
  checkDagJob,
  finishedParentsOf,
  NEW_DAG,
  planOne,
  readDagHistory,
  submitPlanned,
  type DagHistory,
  type DagHost,
  type DagJob,
  type PlannedJob,
} from './dag-handlers.js';
import { activeJobIds } from './find-job.js';
import type { Master } from './master.js';

/** What admitting a DAG's jobs uses. */
export type AdmissionHost = DagHost & Pick<Master, 'security'>;

/** Jobs checked and turned into specs per turn of the loop: a few milliseconds on a quiet machine. */
export const PLAN_SLICE_JOBS = 1_000;

/**
 * planDagJobs without holding the loop: the whole-request checks (keys, parents, cycles) as steps
 * a turn apart (`dag-order.ts`), then each job's own checks and its spec a slice per turn. A
 * short list has no turn in between. Scripts are looked up again at the end, as one may have
 * been collected meanwhile.
 */
export async function planDagJobsInSlices(master: DagHost, dagId: string, requested: readonly DagJob[], history: DagHistory = NEW_DAG): Promise<PlannedJob[]> {
  const steps = orderSteps(dagId, requested, history);
  const jobs = requested.length > PLAN_SLICE_JOBS ? await runStepsInTurns(steps) : runSteps(steps);
  const { ordered } = jobs;
  for (let at = 0; at < ordered.length; at += PLAN_SLICE_JOBS) {
    if (at > 0) await nextTurn();
    for (const job of ordered.slice(at, at + PLAN_SLICE_JOBS)) checkDagJob(master, job);
  }
  const planned: PlannedJob[] = [];
  for (let at = 0; at < ordered.length; at += PLAN_SLICE_JOBS) {
    if (ordered.length > PLAN_SLICE_JOBS) await nextTurn();
    for (const job of ordered.slice(at, at + PLAN_SLICE_JOBS)) planned.push(planOne(jobs, job));
  }
  if (ordered.length > PLAN_SLICE_JOBS) for (const job of ordered) if (job.run.kind === 'script') checkDagJob(master, job);
  return planned;
}

/** Jobs handed to the core per turn of the loop: a few milliseconds on a quiet machine. */
export const SUBMIT_SLICE_JOBS = 1_000;

/**
 * submitPlanned a slice per turn of the loop, for a large batch: the core holds the batch
 * (`holdAdmission`), so no job of it is queued or dispatched before the last slice is in and the
 * hold released; then its effects are one batch, committed together. A short batch goes at once.
 * `dagId` is the run the jobs go into: cancelled meanwhile, the rest is not submitted.
 */
export async function submitInSlices(
  master: AdmissionHost,
  dagId: string,
  planned: readonly PlannedJob[],
  effects: Effect[],
  owner: JobOwner | undefined,
  history: DagHistory = NEW_DAG,
): Promise<string[]> {
  if (planned.length <= SUBMIT_SLICE_JOBS) return submitPlanned(master, planned, effects, owner, history);
  const finishedParents = finishedParentsOf(master, planned, history);
  const admission = master.commands.holdAdmission();
  const now = Date.now();
  const submitted: string[] = [];
  try {
    for (let at = 0; at < planned.length; at += SUBMIT_SLICE_JOBS) {
      if (at > 0) await nextTurn();
      if (master.reads.dag(dagId) === undefined)
        throw new TitanError(ErrorCode.INVALID_REQUEST, `DAG ${dagId} ended while its jobs were being admitted; nothing of this request runs`);
      for (const job of planned.slice(at, at + SUBMIT_SLICE_JOBS)) {
        effects.push(...master.commands.submit(job.id, owner === undefined ? job.spec : { ...job.spec, owner }, now, finishedParents, admission));
        submitted.push(job.id);
      }
    }
  } catch (err) {
    // The jobs already admitted are cancelled, never run; the rows say so once written.
    for (const id of submitted) if (master.reads.job(id) !== undefined) effects.push(...master.commands.cancel(id, Date.now()));
    effects.push(...master.commands.releaseAdmission(admission, Date.now()));
    master.commands.apply(effects);
    throw err;
  }
  effects.push(...master.commands.releaseAdmission(admission, Date.now()));
  return submitted;
}

/** What refuses new jobs at once; checked again after every turn of the loop the admission waited. */
function checkRoom(master: AdmissionHost, session: ClientContext, jobs: number): void {
  master.commands.refuseWhenStoreFull();
  if (session.identity !== null) master.security.checkQuota(session.identity, jobs, activeJobIds(master));
}

/**
 * DAG_SUBMIT: the body checked, the jobs planned (both in slices for a large run), then, with no
 * turn of the loop in between, the last checks, the run created and every job submitted in one
 * batch, answered once that batch is on disk (a large one commits in chunks and is sealed by its
 * DAG row: `store/sealed-admission.ts`). Nothing is submitted when any check fails.
 */
export async function submitDag(master: AdmissionHost, session: ClientContext, msg: IncomingMessage): Promise<{ dagId: string; jobIds: string[] }> {
  const req = await parseDagJobsBody(DagSubmitRequest, msg);
  checkRoom(master, session, req.jobs.length);
  const dagId = `${session.idPrefix}d${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  if (req.runAt !== undefined && req.delaySeconds !== undefined && req.delaySeconds > 0) throw bothDelayAndAt('delaySeconds', 'runAt');
  const held = Math.max(req.runAt ?? 0, req.delaySeconds !== undefined && req.delaySeconds > 0 ? Date.now() + Math.round(req.delaySeconds * 1000) : 0);
  const runAt = held > 0 ? held : undefined;
  // The run's own time holds every job; a job's run_at can only hold it later still.
  const jobs = runAt === undefined ? req.jobs : req.jobs.map((j) => ({ ...j, runAt: Math.max(runAt, j.runAt ?? 0) }));
  const planned = await planDagJobsInSlices(master, dagId, jobs);
  // The disk may have filled or the quota been used while the slices waited.
  checkRoom(master, session, req.jobs.length);
  const effects: Effect[] = master.commands.createDag(dagId, req.name, Date.now());
  const jobIds = await submitInSlices(master, dagId, planned, effects, ownerOf(session.identity));
  await master.commands.applyAcknowledged(effects);
  return { dagId, jobIds };
}

/** DAG_ADD_JOBS: as DAG_SUBMIT, into a running DAG whose stored jobs are read first. */
export async function addDagJobs(master: AdmissionHost, session: ClientContext, msg: IncomingMessage): Promise<{ dagId: string; jobIds: string[] }> {
  const req = await parseDagJobsBody(DagAddJobsRequest, msg);
  checkAddJobs(master, session, req.dagId, req.jobs.length);
  const history = await readDagHistory(master, req.dagId);
  const planned = await planDagJobsInSlices(master, req.dagId, req.jobs, history);
  // The run may have finished, the disk filled or the quota been used while the store was read.
  checkAddJobs(master, session, req.dagId, req.jobs.length);
  checkUnused(master, planned);
  const effects: Effect[] = [];
  const jobIds = await submitInSlices(master, req.dagId, planned, effects, ownerOf(session.identity), history);
  await master.commands.applyAcknowledged(effects);
  return { dagId: req.dagId, jobIds };
}

/** A concurrent DAG_ADD_JOBS may have taken a key while this one's slices waited: refused whole, before any job is submitted. */
function checkUnused(master: AdmissionHost, planned: readonly PlannedJob[]): void {
  const taken = planned.find((p) => master.reads.job(p.id) !== undefined);
  if (taken !== undefined) throw new TitanError(ErrorCode.INVALID_REQUEST, `job ${taken.id} was added to the DAG meanwhile; pick another key`);
}

function checkAddJobs(master: AdmissionHost, session: ClientContext, dagId: string, jobs: number): void {
  checkRoom(master, session, jobs);
  if (master.reads.dag(dagId) === undefined)
    throw new TitanError(ErrorCode.INVALID_REQUEST, `DAG ${dagId} is not running; jobs can only be added while it runs`);
}
