import { readFile } from 'node:fs/promises';
import type { DagTiming } from './dag-timing.js';
import type { JobState } from '../core/job.js';
import { Opcode } from '../protocol/opcodes.js';
import type { DagJobRequest } from '../protocol/messages.js';
import type { RolloutOptions, RolloutResult } from './rollout.js';
import { connectToLeader } from './find-leader.js';
import { LazyPeer } from './lazy-peer.js';
import type { InferenceRequest } from '../protocol/inference-messages.js';
import type { GrantView, StatusView } from '../protocol/inference-views.js';
import { formatHostPort, resolveMasterAddress, type HostPort, type MasterAddress } from './address.js';
import type { LocalUploads, SubmitInput } from './submit-input.js';
import { ApprovalClient } from './approvals.js';
import { KvClient } from './kv.js';
import { ScheduleClient } from './schedules.js';
import { SecurityClient } from './security.js';
import type { TlsClientFiles } from '../security/tls.js';
import type { JobView, ClusterStatsView, LogLineView, DagStatusView, DagView, JobEventView, ServiceView } from '../protocol/views.js';

export type { JobView, ClusterStatsView, LogLineView, DagStatusView, DagView, JobEventView, ServiceView } from '../protocol/views.js';

export interface ClientOptions {
  readonly host: string;
  readonly port: number;
  /**
   * Several masters (HA, docs/HA.md): `'a:9090,b:9090'` or `['a:9090', 'b:9090']`. The client
   * finds the leader among them and follows it; instead of host and port.
   */
  readonly masters: string | readonly (string | HostPort)[];
  /** With several masters, how long finding the leader may take before the error naming every address tried (default 15 s). */
  readonly failoverTimeoutMs: number;
  readonly token: string;
  /** Speak TLS to the master (its CA; a certificate and key under mTLS). Default: TITAN_CA / TITAN_CERT / TITAN_KEY. */
  readonly tls: TlsClientFiles;
}

/**
 * What to run: a local script file (uploaded for you) or a command line. With `project`, the whole
 * folder is uploaded as an archive and unpacked as the job's workspace, the script at its relative path.
 */
export type { DagTiming } from './dag-timing.js';

export type { SubmitInput } from './submit-input.js';

/**
 * The TypeScript SDK: one authenticated connection that carries many requests at once.
 *
 * @example
 * const titan = await TitanClient.connect({ token });
 * const { jobId } = await titan.submit({ command: 'echo hello' });
 * const done = await titan.wait(jobId);
 */
export class TitanClient {
  private readonly peer: LazyPeer;

  private localUploads: Promise<LocalUploads> | undefined;

  /**
   * A client; it connects on first use (and again after a dropped connection). Anything not
   * given comes from TITAN_HOST / TITAN_PORT / TITAN_TOKEN (set inside every job), else
   * 127.0.0.1:9090 and the local master's token file.
   *
   * @example
   * const titan = new TitanClient(); // inside a job: no configuration needed
   */
  constructor(options: Partial<ClientOptions> = {}) {
    const given = options.masters ?? (options.host !== undefined ? `${options.host}:${options.port ?? 9090}` : undefined);
    const fromEnv = (): MasterAddress =>
      resolveMasterAddress({
        ...(given !== undefined
          ? { master: typeof given === 'string' ? given : given.map((m) => (typeof m === 'string' ? m : formatHostPort(m))).join(',') }
          : {}),
        ...(options.token !== undefined ? { token: options.token } : {}),
      });
    let several = false;
    this.peer = new LazyPeer(
      async (prefer) => {
        const address = fromEnv();
        several = address.masters.length > 1;
        const tls = options.tls ?? address.tls;
        const { peer } = await connectToLeader({
          masters: address.masters,
          prefer,
          ...(options.failoverTimeoutMs !== undefined ? { failoverTimeoutMs: options.failoverTimeoutMs } : {}),
          token: address.token,
          role: 'client',
          ...(tls !== undefined ? { tls } : {}),
        });
        return peer;
      },
      () => several,
    );
  }

  /**
   * The master's key-value store and keyed artifacts (data passed between DAG jobs and clients).
   *
   * @example
   * await titan.kv.put('best-epoch', '12', { ttlSeconds: 3600 });
   */
  get kv(): KvClient {
    return new KvClient(this.peer);
  }

  /** Decisions waiting on a person (approvals and original-SDK KV gates): list, approve, reject. */
  get approvals(): ApprovalClient {
    return new ApprovalClient(this.peer);
  }

  /**
   * Cron schedules of DAG runs: add (a YAML file or { name, jobs }), list, remove, pause, resume.
   *
   * @example
   * await titan.schedules.add('pipeline.yaml', { cron: '*\/5 * * * *', overlap: 'skip', misfire: 'run_once' });
   */
  get schedules(): ScheduleClient {
    return new ScheduleClient(this.peer, this);
  }

  /**
   * Who this client is, API tokens and the audit ledger (docs/SECURITY.md).
   *
   * @example
   * const { role, permissions } = await titan.security.whoami();
   */
  get security(): SecurityClient {
    return new SecurityClient(this.peer);
  }

  /** Like `new TitanClient(options)`, but connects now, so a wrong address or token fails here. */
  static async connect(options: Partial<ClientOptions> = {}): Promise<TitanClient> {
    const client = new TitanClient(options);
    try {
      await client.peer.request(Opcode.PING, {});
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  /** Uploads a local file to the master's content-addressed store and returns its sha256 address. */
  async uploadFile(path: string): Promise<string> {
    return this.upload(await readFile(path));
  }

  /** Publishes a file (or bytes) under a key, for other jobs and clients: `getArtifact(key)`. */
  async publishArtifact(key: string, fileOrBytes: string | Uint8Array): Promise<void> {
    await this.kv.publishArtifact(key, fileOrBytes);
  }

  /** The bytes published under a key. */
  async getArtifact(key: string): Promise<Uint8Array> {
    return (await this.kv.fetchArtifact(key)).data;
  }

  /** Uploads bytes to the master's content-addressed store and returns their sha256 address. */
  async upload(data: Uint8Array): Promise<string> {
    const answer = (await this.peer.request(Opcode.ARTIFACT_PUT, { data })) as { hash: string };
    return answer.hash;
  }

  async submit(input: SubmitInput): Promise<{ jobId: string }> {
    const uploads = await this.uploads();
    return (await this.peer.request(Opcode.JOB_SUBMIT, await uploads.toRequest(input))) as { jobId: string };
  }

  async submitMany(inputs: readonly SubmitInput[]): Promise<{ jobIds: string[] }> {
    const uploads = await this.uploads();
    const jobs = await Promise.all(inputs.map((i) => uploads.toRequest(i)));
    return (await this.peer.request(Opcode.JOB_SUBMIT_BATCH, { jobs })) as { jobIds: string[] };
  }

  async status(jobId: string): Promise<JobView> {
    return (await this.peer.request(Opcode.JOB_STATUS, { jobId })) as JobView;
  }

  /**
   * Resolves when the job is final (pushed by the master, no polling), or with its current view
   * once the timeout (ms) passes.
   *
   * @example
   * const done = await titan.wait(jobId, { timeout: 60_000 });
   */
  async wait(jobId: string, timeout?: number | { timeout?: number }): Promise<JobView> {
    const timeoutMs = typeof timeout === 'number' ? timeout : timeout?.timeout;
    const body = timeoutMs === undefined ? { jobId } : { jobId, timeoutMs };
    return (await this.peer.request(Opcode.JOB_WAIT, body, { timeoutMs: 0 })) as JobView;
  }

  async list(options: { states?: JobState[]; limit?: number } = {}): Promise<JobView[]> {
    return ((await this.peer.request(Opcode.JOB_LIST, options)) as { jobs: JobView[] }).jobs;
  }

  async cancel(jobId: string): Promise<JobView> {
    return (await this.peer.request(Opcode.JOB_CANCEL, { jobId })) as JobView;
  }

  async stats(): Promise<ClusterStatsView> {
    return (await this.peer.request(Opcode.CLUSTER_STATS, {})) as ClusterStatsView;
  }

  /**
   * Routes an inference request: the agent to call and the token to call it with (docs/INFERENCE.md).
   * @example const { generate_url, token } = await client.requestInference({ model: 'llama3:8b' });
   */
  async requestInference(request: InferenceRequest): Promise<GrantView> {
    return (await this.peer.request(Opcode.INFERENCE_REQUEST, request)) as GrantView;
  }

  /** The coordinator's status (GET /api/v1/status), with every agent when asked. */
  async inferenceStatus(includeAgents = false): Promise<StatusView> {
    return (await this.peer.request(Opcode.INFERENCE_STATUS, { includeAgents })) as StatusView;
  }

  /**
   * A job's stored output: every line so far, or, with `onLines`, each batch as it is read (and,
   * with `follow`, as it arrives until the job is final).
   *
   * @example
   * const lines = await titan.logs(jobId);
   */
  async logs(jobId: string): Promise<LogLineView[]>;
  async logs(jobId: string, onLines: (lines: LogLineView[]) => void, options?: { follow?: boolean; afterSeq?: number }): Promise<void>;
  async logs(jobId: string, onLines?: (lines: LogLineView[]) => void, options: { follow?: boolean; afterSeq?: number } = {}): Promise<LogLineView[] | void> {
    const all: LogLineView[] = [];
    // After a failover the stream goes on from the last line seen: no line is handed over twice.
    let afterSeq = options.afterSeq ?? 0;
    const body = (): unknown => ({ jobId, follow: options.follow ?? false, afterSeq });
    await this.peer.resumableStream(Opcode.JOB_LOGS, body, (chunk) => {
      const lines = (chunk as { lines: LogLineView[] }).lines;
      for (const line of lines) afterSeq = Math.max(afterSeq, line.seq);
      if (onLines !== undefined) onLines(lines);
      else all.push(...lines);
    });
    return onLines === undefined ? all : undefined;
  }

  /**
   * Follows a job's output as an async iterator, ending when the job is final.
   *
   * @example
   * for await (const line of titan.followLogs(jobId)) console.log(line.line);
   */
  async *followLogs(jobId: string, afterSeq = 0): AsyncGenerator<LogLineView> {
    const buffered: LogLineView[] = [];
    let wake: (() => void) | null = null;
    let finished = false;
    let failure: unknown;
    const done = this.logs(
      jobId,
      (lines) => {
        buffered.push(...lines);
        wake?.();
      },
      { follow: true, afterSeq },
    ).then(
      () => {
        finished = true;
        wake?.();
      },
      (err: unknown) => {
        failure = err;
        finished = true;
        wake?.();
      },
    );
    for (;;) {
      while (buffered.length > 0) yield buffered.shift()!;
      if (finished) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
    await done;
    if (failure !== undefined) throw failure;
  }

  /** Runs a YAML pipeline; with `wait`, resolves once the DAG is over. */
  async submitYaml(path: string, options: { wait?: boolean; timeoutMs?: number } = {}): Promise<{ dagId: string; jobIds: string[]; final?: DagStatusView }> {
    const submitted = await this.submitPipeline(path);
    if (options.wait !== true) return submitted;
    return { ...submitted, final: await this.waitDag(submitted.dagId, options.timeoutMs) };
  }

  /**
   * Starts a DAG run from jobs whose `key`s name each other in `parents`. With `agentRunId`, the
   * run joins that agent run (the KV set `titan:agent-run:<id>`, as the Python SDK does), which
   * the dashboard shows as one timeline; `runAt`/`delaySeconds` hold the whole run.
   * @example await titan.submitDag('fix-bug', jobs, { agentRunId: 'agent-42' });
   */
  async submitDag(
    name: string,
    jobs: readonly DagJobRequest[],
    options: DagTiming & { agentRunId?: string } = {},
  ): Promise<{ dagId: string; jobIds: string[] }> {
    const { timing } = await import('./dag-timing.js');
    const submitted = (await this.peer.request(Opcode.DAG_SUBMIT, { name, jobs, ...timing(options) })) as { dagId: string; jobIds: string[] };
    if (options.agentRunId !== undefined) await this.kv.sadd(`titan:agent-run:${options.agentRunId}`, [submitted.dagId]);
    return submitted;
  }

  /** Submits a YAML pipeline, which the master parses and checks; a file with problems is refused with all of them listed at file:line. */
  async submitPipeline(file: string, when: DagTiming = {}): Promise<{ dagId: string; jobIds: string[] }> {
    const [{ sendPipeline }, { timing }] = await Promise.all([import('./pipeline-submit.js'), import('./dag-timing.js')]);
    return (await sendPipeline(this.peer, this, file, timing(when))) as { dagId: string; jobIds: string[] };
  }

  /** Adds jobs to a running DAG; parents may name jobs already in it, finished or not. */
  async addJobs(dagId: string, jobs: readonly DagJobRequest[]): Promise<{ dagId: string; jobIds: string[] }> {
    return (await this.peer.request(Opcode.DAG_ADD_JOBS, { dagId, jobs })) as { dagId: string; jobIds: string[] };
  }

  /** Adds the jobs of a YAML file to a running DAG; they may depend on its jobs. */
  async addPipeline(dagId: string, file: string): Promise<{ dagId: string; jobIds: string[] }> {
    const { sendPipeline } = await import('./pipeline-submit.js');
    return (await sendPipeline(this.peer, this, file, { dagId })) as { dagId: string; jobIds: string[] };
  }

  async dagStatus(dagId: string): Promise<DagStatusView> {
    return (await this.peer.request(Opcode.DAG_STATUS, { dagId })) as DagStatusView;
  }

  async waitDag(dagId: string, timeoutMs?: number): Promise<DagStatusView> {
    const body = timeoutMs === undefined ? { dagId } : { dagId, timeoutMs };
    return (await this.peer.request(Opcode.DAG_WAIT, body, { timeoutMs: 0 })) as DagStatusView;
  }

  async listDags(limit = 30): Promise<DagView[]> {
    return ((await this.peer.request(Opcode.DAG_LIST, { limit })) as { dags: DagView[] }).dags;
  }

  async cancelDag(dagId: string): Promise<DagStatusView> {
    return (await this.peer.request(Opcode.DAG_CANCEL, { dagId })) as DagStatusView;
  }

  /** Runs a failed, dead, cancelled or skipped job again (and reopens its DAG). */
  async retry(jobId: string): Promise<JobView> {
    return (await this.peer.request(Opcode.JOB_RETRY, { jobId })) as JobView;
  }

  /** Lets a job waiting for approval run. `jobId` may be written `<dag-id>/<key>`. */
  async approve(jobId: string, by?: string): Promise<JobView> {
    return (await this.peer.request(Opcode.JOB_APPROVE, { jobId: jobId.replace('/', '.'), ...(by !== undefined ? { by } : {}) })) as JobView;
  }

  /** Fails a job waiting for approval; its DAG then follows its trigger rules. */
  async reject(jobId: string, reason = '', by?: string): Promise<JobView> {
    return (await this.peer.request(Opcode.JOB_REJECT, { jobId: jobId.replace('/', '.'), reason, ...(by !== undefined ? { by } : {}) })) as JobView;
  }

  /** Asks a worker to drain (finish or hand back its jobs) and exit. */
  async shutdownWorker(workerId: string): Promise<void> {
    await this.peer.request(Opcode.WORKER_SHUTDOWN, { workerId });
  }

  /** Running services with where they answer (worker, host, port, pid, restarts). */
  async services(): Promise<ServiceView[]> {
    return ((await this.peer.request(Opcode.SERVICE_LIST, {})) as { services: ServiceView[] }).services;
  }

  /** Stops a service for good (its process tree is killed, it is not restarted). */
  async stopService(jobId: string): Promise<JobView> {
    return (await this.peer.request(Opcode.SERVICE_STOP, { jobId })) as JobView;
  }

  /**
   * Redeploys the service called `name` with new input, one replica at a time (each new one
   * ready before the old one it replaces stops). See rollout.ts.
   */
  async redeploy(name: string, input: SubmitInput, options: RolloutOptions = {}): Promise<RolloutResult> {
    const { rollOut } = await import('./rollout.js');
    return rollOut(this, name, input, options);
  }

  /** Restarts a service as a new attempt. */
  async restartService(jobId: string): Promise<JobView> {
    return (await this.peer.request(Opcode.SERVICE_RESTART, { jobId })) as JobView;
  }

  /** The job and every transition it went through. */
  async history(jobId: string): Promise<{ job: JobView; events: JobEventView[] }> {
    return (await this.peer.request(Opcode.JOB_HISTORY, { jobId })) as { job: JobView; events: JobEventView[] };
  }

  close(): void {
    this.peer.close();
  }

  /** Archives a folder (without node_modules and .git) and uploads it; folders are cached by path per client. */
  async uploadFolder(folder: string): Promise<string> {
    return (await this.uploads()).folder(folder);
  }

  /** Made on first use: a client that only reads (most `titan` commands) never loads the upload code. */
  private uploads(): Promise<LocalUploads> {
    this.localUploads ??= import('./submit-input.js').then(({ LocalUploads }) => new LocalUploads((data) => this.upload(data)));
    return this.localUploads;
  }
}
