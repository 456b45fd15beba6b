import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { ErrorCode, TitanError } from '../../common/errors.js';
import { DagJobRequest, describeIssues } from '../../protocol/messages.js';
import { planDagJobs, submitPlanned } from '../dag-handlers.js';
import { dagJobId } from '../job-spec.js';
import type { Master } from '../master.js';
import { recordLegacyName, type LegacyNameBook } from './names.js';
import { artifactHash } from '../../store/artifact-bytes.js';
import type { KeyedArtifact } from '../../store/store.js';
import type { LegacyJob } from './payload.js';
import { zipToBundle, type ZipEntry } from './zip-bundle.js';

type DagJob = z.output<typeof DagJobRequest>;

/** What a v1 submission uses: DAG planning and submission, uploaded archives and scripts. */
export type SubmitHost = Pick<Master, 'commands' | 'reads' | 'kv' | 'artifacts'>;

/** How the original names a DAG job: `DAG-<ID>`. */
export const dagJobName = (id: string): string => `DAG-${id}`;

/**
 * Submits one legacy submission as one Titan DAG (keys = the legacy IDs), through the same
 * planning as DAG_SUBMIT, then points each job's legacy name at its Titan job id. Everything is
 * checked before anything is submitted. Returns the Titan job ids.
 */
export async function submitLegacyJobs(
  master: SubmitHost,
  names: LegacyNameBook,
  jobs: readonly LegacyJob[],
  nameOf: (id: string) => string = dagJobName,
): Promise<string[]> {
  master.commands.refuseWhenStoreFull();
  const archives = await publishedArchives(master, jobs);
  const scripts: Uint8Array[] = [];
  const requests = jobs.map((job) => toDagJob(job, nameOf(job.id), archives, scripts));
  await Promise.all(scripts.map((script) => master.artifacts.put(script)));
  // Nothing below awaits until the jobs are submitted.
  master.commands.refuseWhenStoreFull();
  const dagId = `v1-${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const planned = planDagJobs(master, dagId, requests);
  const effects = master.commands.createDag(dagId, dagName(jobs), Date.now());
  const ids = submitPlanned(master, planned, effects, { name: 'legacy-v1' });
  await master.commands.applyAcknowledged(effects);
  await Promise.all(jobs.map((job) => recordLegacyName(names, nameOf(job.id), dagJobId(dagId, job.id))));
  return ids;
}

function dagName(jobs: readonly LegacyJob[]): string {
  const shown = jobs
    .slice(0, 3)
    .map((j) => j.id)
    .join(', ');
  return `legacy ${shown}${jobs.length > 3 ? ` and ${jobs.length - 3} more` : ''}`.slice(0, 200);
}

type Archives = ReadonlyMap<string, { hash: string; entries: ZipEntry[] }>;

/** The zips the jobs run from, read once each: published under their names, converted to bundles. */
async function publishedArchives(master: SubmitHost, jobs: readonly LegacyJob[]): Promise<Archives> {
  const names = [...new Set(jobs.flatMap((job) => (job.archive !== null ? [job.archive.name] : [])))];
  const published = await Promise.all(names.map((name) => master.kv.getKeyedArtifact(name)));
  const bundles = await Promise.all(names.map((name, i) => archiveBundle(master, name, published[i])));
  return new Map(names.map((name, i) => [name, bundles[i]!]));
}

/** The job as DAG_SUBMIT takes it; the scripts it runs are added to `scripts`, to be stored before it is planned. */
function toDagJob(job: LegacyJob, name: string, archives: Archives, scripts: Uint8Array[]): DagJob {
  const script = (data: Uint8Array): string => {
    scripts.push(data);
    return artifactHash(data);
  };
  let run: DagJob['run'];
  let bundle: string | undefined;
  if (job.archive !== null) {
    const { hash, entries } = archives.get(job.archive.name)!;
    const entry = entries.find((e) => !e.directory && e.name === job.archive?.entry);
    if (entry === undefined) {
      const files = entries.filter((e) => !e.directory).map((e) => e.name);
      throw new TitanError(
        ErrorCode.INVALID_REQUEST,
        `job ${job.id}: ${job.archive.entry} is not in ${job.archive.name} (it holds ${files.slice(0, 10).join(', ') || 'no file'})`,
      );
    }
    run = { kind: 'script', fileName: entry.name, artifact: script(entry.data) };
    bundle = hash;
  } else {
    run = { kind: 'script', fileName: job.file, artifact: script(job.script ?? Buffer.alloc(0)) };
  }
  const parsed = DagJobRequest.safeParse({
    key: job.id,
    name,
    run,
    args: [...job.args],
    requirement: [...job.requirement],
    priority: job.priority,
    parents: [...job.parents],
    affinity: job.affinity,
    delaySeconds: job.delayMs / 1000,
    ...(bundle !== undefined ? { bundle } : {}),
    ...(job.kind === 'DEPLOY_PAYLOAD' || job.kind === 'START_ARCHIVE_SERVICE' ? { service: { port: job.port === 0 ? null : job.port } } : {}),
  });
  if (!parsed.success) throw new TitanError(ErrorCode.INVALID_REQUEST, `job ${job.id}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** An uploaded zip as a bundle in the artifact store. */
async function archiveBundle(master: SubmitHost, name: string, published: KeyedArtifact | undefined): Promise<{ hash: string; entries: ZipEntry[] }> {
  if (published === undefined) {
    throw new TitanError(
      ErrorCode.UNKNOWN_ARTIFACT,
      `no archive named ${name} was uploaded; upload the zip first with OP_UPLOAD_ASSET (the SDK's upload_project_folder)`,
    );
  }
  const { bundle, entries } = zipToBundle(master.artifacts.get(published.hash), name);
  return { hash: await master.artifacts.put(bundle), entries };
}
