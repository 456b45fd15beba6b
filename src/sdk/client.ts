import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { JobState } from '../core/job.js';
import { Opcode } from '../protocol/opcodes.js';
import type { JobSubmitRequest } from '../protocol/messages.js';
import type { Peer } from '../protocol/peer.js';
import { connectPeer } from './connect.js';
import type { JobView, ClusterStatsView, LogLineView } from '../protocol/views.js';

export type { JobView, ClusterStatsView, LogLineView } from '../protocol/views.js';

export interface ClientOptions {
  readonly host?: string;
  readonly port?: number;
  readonly token: string;
}

/** What to run: a local script file (uploaded for you) or a command line. */
export type SubmitInput = Omit<JobSubmitRequest, 'run'> & ({ file: string } | { command: string });

/**
 * The TypeScript SDK: one authenticated connection that carries many requests at once.
 *
 * @example
 * const titan = await TitanClient.connect({ token });
 * const { jobId } = await titan.submit({ command: 'echo hello' });
 * const done = await titan.wait(jobId);
 */
export class TitanClient {
  private constructor(private readonly peer: Peer) {}

  static async connect(options: ClientOptions): Promise<TitanClient> {
    const { peer } = await connectPeer({ host: options.host ?? '127.0.0.1', port: options.port ?? 9090, token: options.token, role: 'client' });
    return new TitanClient(peer);
  }

  /** Uploads bytes to the master's content-addressed store and returns their sha256 address. */
  async upload(data: Uint8Array): Promise<string> {
    const answer = (await this.peer.request(Opcode.ARTIFACT_PUT, { data })) as { hash: string };
    return answer.hash;
  }

  async submit(input: SubmitInput): Promise<{ jobId: string }> {
    return (await this.peer.request(Opcode.JOB_SUBMIT, await this.toRequest(input))) as { jobId: string };
  }

  async submitMany(inputs: readonly SubmitInput[]): Promise<{ jobIds: string[] }> {
    const jobs = await Promise.all(inputs.map((i) => this.toRequest(i)));
    return (await this.peer.request(Opcode.JOB_SUBMIT_BATCH, { jobs })) as { jobIds: string[] };
  }

  async status(jobId: string): Promise<JobView> {
    return (await this.peer.request(Opcode.JOB_STATUS, { jobId })) as JobView;
  }

  /** Resolves when the job is final, or with its current view after timeoutMs. */
  async wait(jobId: string, timeoutMs?: number): Promise<JobView> {
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

  /** Calls onLines with each batch of stored lines; with follow, until the job is final. */
  async logs(jobId: string, onLines: (lines: LogLineView[]) => void, options: { follow?: boolean; afterSeq?: number } = {}): Promise<void> {
    await this.peer.stream(Opcode.JOB_LOGS, { jobId, follow: options.follow ?? false, afterSeq: options.afterSeq ?? 0 }, (chunk) => {
      onLines((chunk as { lines: LogLineView[] }).lines);
    });
  }

  close(): void {
    this.peer.close();
  }

  private async toRequest(input: SubmitInput): Promise<JobSubmitRequest> {
    const { ...rest } = input as SubmitInput & { file?: string; command?: string };
    delete rest.file;
    delete rest.command;
    if ('file' in input) {
      const artifact = await this.upload(await readFile(input.file));
      return { ...rest, run: { kind: 'script', fileName: basename(input.file), artifact } };
    }
    return { ...rest, run: { kind: 'command', command: input.command } };
  }
}
