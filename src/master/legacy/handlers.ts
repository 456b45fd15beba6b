import { randomBytes } from 'node:crypto';
import { ErrorCode, TitanError } from '../../common/errors.js';
import { isFinal, type JobState } from '../../core/job.js';
import { jobView } from '../find-job.js';
import type { Master } from '../master.js';
import { clusterStats, type StatsHost } from '../stats.js';
import { LegacyOp, type LegacyRequest } from '../../protocol/legacy-frame.js';
import { fetchAsset, kvGet, kvSadd, kvSet, kvSmembers, uploadAsset } from './kv-assets.js';
import { resolveLegacyName, type LegacyNameBook } from './names.js';
import { parseLegacyDag, parseLegacyJob } from './payload.js';
import { statsText } from './stats-text.js';
import { submitLegacyJobs, type SubmitHost } from './submit.js';

/** A reply's text; `ok: false` goes out as OP_ERROR and always starts with `ERROR`. */
export interface LegacyReply {
  readonly ok: boolean;
  readonly text: string;
  /** Why it failed, for the audit ledger (the v1 wire carries only the text). */
  readonly code?: ErrorCode;
  /** The Titan job ids a submission created, for the audit ledger. */
  readonly created?: readonly string[];
}

/** What v1 requests are served on: the master's ports and the parts `titan stats` shows. */
export type LegacyHost = StatsHost & SubmitHost & Pick<Master, 'kv' | 'log'>;

const ack = (text: string, created?: readonly string[]): LegacyReply => ({ ok: true, text, ...(created !== undefined ? { created } : {}) });
export const fail = (text: string, code?: ErrorCode): LegacyReply => ({
  ok: false,
  text: text.startsWith('ERROR') ? text : `ERROR: ${text}`,
  ...(code !== undefined ? { code } : {}),
});

/** Titan's job states in the original's six words. */
const STATUS: Record<JobState, string> = {
  pending: 'PENDING',
  queued: 'PENDING',
  assigned: 'RUNNING',
  running: 'RUNNING',
  succeeded: 'COMPLETED',
  failed: 'FAILED',
  dead: 'DEAD',
  cancelled: 'CANCELLED',
  skipped: 'CANCELLED',
  stopped: 'CANCELLED',
};

/** Serves one v1 request on the master's own operations. Never throws: errors become `ERROR: …` text. */
export async function handleLegacyRequest(master: LegacyHost, names: LegacyNameBook, req: LegacyRequest): Promise<LegacyReply> {
  try {
    return await dispatch(master, names, req.opcode, req.payload);
  } catch (err) {
    if (err instanceof TitanError) return fail(err.message, err.code);
    master.log.error({ err, opcode: req.opcode }, 'legacy request failed');
    return fail(`internal error: ${(err as Error).message}`, ErrorCode.INTERNAL);
  }
}

async function dispatch(master: LegacyHost, names: LegacyNameBook, opcode: number, payload: string): Promise<LegacyReply> {
  switch (opcode) {
    case LegacyOp.SUBMIT_DAG:
      return ack('DAG_ACCEPTED', await submitLegacyJobs(master, names, parseLegacyDag(payload)));
    case LegacyOp.SUBMIT_JOB:
      return ack('JOB_ACCEPTED', await submitLegacyJobs(master, names, parseLegacyDag(payload)));
    case LegacyOp.RUN:
      return runUploadedScript(master, names, payload);
    case LegacyOp.DEPLOY:
      return deployUploadedScript(master, names, payload);
    case LegacyOp.STOP: {
      const jobId = await knownJob(names, payload.trim());
      await master.commands.applyAndWait(master.commands.stopService(jobId, Date.now()));
      return ack('STOPPED');
    }
    case LegacyOp.STATS:
      return ack(statsText(await clusterStats(master)));
    case LegacyOp.STATS_JSON:
      return ack(JSON.stringify(await clusterStats(master)));
    case LegacyOp.KILL_WORKER:
      return fail(
        'OP_KILL_WORKER is not supported: Titan workers dial out to the master and have no port to address; stop the worker process (SIGTERM drains it first)',
      );
    case LegacyOp.GET_JOB_STATUS: {
      const jobId = await resolveLegacyName(names, payload.trim());
      return ack(jobId === undefined ? 'NULL' : STATUS[(await jobView(master, jobId)).state]);
    }
    case LegacyOp.GET_LOGS:
      return ack(await logText(master, await knownJob(names, payload.trim())));
    case LegacyOp.CANCEL_JOB:
      return cancel(master, names, payload.trim());
    case LegacyOp.UPLOAD_ASSET:
      await uploadAsset(master, payload);
      return ack('UPLOAD_SUCCESS');
    case LegacyOp.DEPLOY_SCRIPT:
      await uploadAsset(master, payload);
      return ack('DEPLOY_SUCCESS');
    case LegacyOp.FETCH_ASSET:
      return ack(await fetchAsset(master, payload.trim()));
    case LegacyOp.KV_SET:
      return ack(await kvSet(master, payload));
    case LegacyOp.KV_GET:
      return ack(await kvGet(master, payload));
    case LegacyOp.KV_SADD:
      return ack(await kvSadd(master, payload));
    case LegacyOp.KV_SMEMBERS:
      return ack(await kvSmembers(master, payload));
    case LegacyOp.HEARTBEAT:
    case LegacyOp.REGISTER:
      return fail('original Java workers cannot join a Titan master; run `titan worker --master host:port --token T` instead');
    default:
      return fail(`opcode 0x${opcode.toString(16).padStart(2, '0')} is not one this master serves over protocol v1 (see docs/COMPAT.md)`);
  }
}

async function knownJob(names: LegacyNameBook, name: string): Promise<string> {
  const jobId = await resolveLegacyName(names, name);
  if (jobId === undefined) throw new TitanError(ErrorCode.UNKNOWN_JOB, `no job named ${JSON.stringify(name)}: jobs submitted over v1 are named DAG-<ID>`);
  return jobId;
}

async function cancel(master: LegacyHost, names: LegacyNameBook, name: string): Promise<LegacyReply> {
  const jobId = await knownJob(names, name);
  const view = await jobView(master, jobId);
  if (isFinal(view.state)) return fail(`${name} already finished (${STATUS[view.state]}); nothing to cancel`);
  await master.commands.applyAndWait(master.commands.cancel(jobId, Date.now()));
  return ack('CANCELLED');
}

/** OP_RUN `file|REQ`: runs a script uploaded earlier (OP_UPLOAD_ASSET / OP_DEPLOY_SCRIPT) as a job named TSK-<id>. */
async function runUploadedScript(master: LegacyHost, names: LegacyNameBook, payload: string): Promise<LegacyReply> {
  const [file = '', req = ''] = payload.split('|').map((f) => f.trim());
  const published = await master.kv.getKeyedArtifact(file);
  if (published === undefined)
    throw new TitanError(
      ErrorCode.UNKNOWN_ARTIFACT,
      `File not found: no script named ${JSON.stringify(file)} was uploaded; send it with OP_DEPLOY_SCRIPT first`,
    );
  const id = `TSK-${randomBytes(6).toString('hex')}`;
  const script = master.artifacts.get(published.hash).toString('base64');
  const fileName = file.slice(file.lastIndexOf('/') + 1);
  const job = parseLegacyJob(`${id}|RUN_PAYLOAD|${fileName}||${script}|${req}|1|0|[]`);
  const created = await submitLegacyJobs(master, names, [job], (jobKey) => jobKey);
  return ack(`JOB_QUEUED ${id} on ${job.requirement.join(',')}`, created);
}

/** OP_DEPLOY `file|port|REQ`: runs an uploaded script as a service named SVC-<id> (port 0 or empty: picked by the worker). */
async function deployUploadedScript(master: LegacyHost, names: LegacyNameBook, payload: string): Promise<LegacyReply> {
  const [file = '', portField = '', req = ''] = payload.split('|').map((f) => f.trim());
  const published = await master.kv.getKeyedArtifact(file);
  if (published === undefined)
    throw new TitanError(
      ErrorCode.UNKNOWN_ARTIFACT,
      `File not found: no script named ${JSON.stringify(file)} was uploaded; send it with OP_DEPLOY_SCRIPT first`,
    );
  const id = `SVC-${randomBytes(6).toString('hex')}`;
  const script = master.artifacts.get(published.hash).toString('base64');
  const fileName = file.slice(file.lastIndexOf('/') + 1);
  const port = portField === '' || portField === '0' || portField === 'auto' ? '0' : portField;
  const job = parseLegacyJob(`${id}|DEPLOY_PAYLOAD|${fileName}|${script}|${port}|${req}|1|0|[]`);
  const created = await submitLegacyJobs(master, names, [job], (jobKey) => jobKey);
  return ack(`DEPLOYED ${id}${port === '0' ? '' : ` on port ${port}`}`, created);
}

const PAGE = 1000;

/** Every line the job printed (stdout and stderr, all attempts), newest kept when over the reply limit. */
async function logText(master: LegacyHost, jobId: string): Promise<string> {
  const limit = master.options.maxFrameSize - 1024;
  let lines: string[] = [];
  let bytes = 0;
  let dropped = 0;
  for (let cursor = 0; ;) {
    const page = await master.reads.readLogs(jobId, cursor, PAGE);
    for (const l of page) {
      lines.push(l.line);
      bytes += Buffer.byteLength(l.line) + 1;
    }
    let first = 0;
    while (bytes > limit && first < lines.length) bytes -= Buffer.byteLength(lines[first++] ?? '') + 1;
    if (first > 0) {
      dropped += first;
      lines = lines.slice(first);
    }
    if (page.length < PAGE) break;
    cursor = page[page.length - 1]?.seq ?? cursor;
  }
  if (dropped > 0) lines.unshift(`[${dropped} earlier lines left out; \`titan logs ${jobId}\` prints them all]`);
  return lines.join('\n');
}
