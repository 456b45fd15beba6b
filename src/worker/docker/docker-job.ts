/**
 * The docker driver: one container per job attempt through the Docker Engine API. The workspace
 * (and the DAG's shared folder) is bind-mounted at the same path, limits become the container's
 * memory, NanoCpus and pids limits, GPUs a device request; output is streamed into the same log
 * files and line batches as a process job's, and the container is removed when the job ends.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Timers } from '../../common/timers.js';
import type { Logger } from '../../common/log.js';
import type { JobResult, RunningJob, SpawnInfo, StartRequest } from '../executor.js';
import { commandFor } from '../interpreter.js';
import { LogFile } from '../log-file.js';
import { Valve } from '../output-flow.js';
import { LineBatcher, LineSplitter } from '../output-lines.js';
import { DockerEngine, EngineError, LogDemuxer, type ContainerSpec } from './engine.js';

export interface DockerSettings {
  readonly engine: DockerEngine;
  readonly pidsLimit: number;
  readonly killGraceMs: number;
  /** Labelled on each container, so a restarted worker can remove what its previous life left. */
  readonly workerId?: string;
  readonly log?: Logger | undefined;
}

/** Removes every container a previous life of this worker left (a crash skips their removal). */
export async function removeLeftoverContainers(engine: DockerEngine, workerId: string, log?: Logger): Promise<number> {
  const ids = await engine.listByLabel(`titan.worker=${workerId}`);
  for (const id of ids) {
    await engine.remove(id);
    log?.warn({ event: 'janitor', action: 'remove-container', container: id, workerId }, 'removed a container left by a previous run of this worker');
  }
  return ids.length;
}

/** What the engine is asked to run for this request: the container's create body. */
export function containerSpec(req: StartRequest, image: string, pidsLimit: number, workerId = ''): ContainerSpec {
  const command = commandFor(req.run, req.args, req.workspace);
  // The host's node binary is not in the image: the image's own `node` runs scripts instead.
  const file = command.file === process.execPath ? 'node' : command.file;
  const memory = req.resources?.memoryMb;
  const cpu = req.resources?.cpu;
  const gpu = req.resources?.gpu;
  return {
    Image: image,
    Cmd: [file, ...command.argv],
    Env: Object.entries(req.env)
      .filter(([key]) => key !== 'PATH' && key !== 'HOME')
      .map(([key, value]) => `${key}=${value}`),
    WorkingDir: req.workspace,
    Labels: { 'titan.job': req.jobId, 'titan.attempt': String(req.attempt), 'titan.worker': workerId },
    HostConfig: {
      Binds: [req.workspace, ...(req.writable ?? [])].map((dir) => `${dir}:${dir}:rw`),
      ...(memory !== undefined ? { Memory: memory * 1048576, MemorySwap: memory * 1048576 } : {}),
      ...(cpu !== undefined ? { NanoCpus: Math.round(cpu * 1e9) } : {}),
      ...(pidsLimit > 0 ? { PidsLimit: pidsLimit } : {}),
      NetworkMode: req.network === 'none' ? 'none' : 'host',
      ...(gpu !== undefined && gpu > 0 ? { DeviceRequests: [{ Driver: 'nvidia', Count: gpu, Capabilities: [['gpu']] }] } : {}),
    },
  };
}

export class DockerJob implements RunningJob {
  readonly jobId: string;
  readonly attempt: number;
  readonly spawned: Promise<SpawnInfo | null>;
  readonly done: Promise<JobResult>;
  #resolveSpawned!: (info: SpawnInfo | null) => void;
  #container: string | undefined;
  #stopped: NodeJS.Signals | undefined;
  #timedOut = false;
  #finished = false;
  readonly #timers = new Timers();

  constructor(
    private readonly req: StartRequest,
    private readonly image: string,
    private readonly settings: DockerSettings,
  ) {
    this.jobId = req.jobId;
    this.attempt = req.attempt;
    this.spawned = new Promise((resolve) => (this.#resolveSpawned = resolve));
    this.done = this.#run();
  }

  /** Containers have no host pid the worker may signal; the registry keeps none for them. */
  get pid(): number | undefined {
    return undefined;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.#finished) return;
    this.#stopped ??= signal;
    const id = this.#container;
    if (id === undefined) return; // #run sees #stopped before it starts the container
    const { engine } = this.settings;
    void engine.kill(id, signal).catch((err: unknown) => this.settings.log?.warn({ jobId: this.jobId, err }, 'could not signal the container'));
    if (signal !== 'SIGKILL') this.#timers.after(this.settings.killGraceMs, () => void engine.kill(id, 'SIGKILL').catch(() => undefined));
  }

  async #run(): Promise<JobResult> {
    const { req, settings } = this;
    const { engine } = settings;
    const started = Date.now();
    const fields = { jobId: req.jobId, attempt: req.attempt };
    const result = (partial: Partial<JobResult>): JobResult => ({
      exitCode: null,
      signal: null,
      durationMs: Date.now() - started,
      timedOut: this.#timedOut,
      ...partial,
    });
    try {
      mkdirSync(req.workspace, { recursive: true });
      const spec = containerSpec(req, this.image, settings.pidsLimit, settings.workerId);
      const name = `titan-${req.jobId}-${req.attempt}`;
      await engine.remove(name).catch(() => undefined); // a leftover of a crashed worker
      try {
        this.#container = await engine.create(name, spec);
      } catch (err) {
        if (!(err instanceof EngineError && err.status === 404)) throw err;
        settings.log?.info({ ...fields, image: this.image }, 'pulling the job image');
        await engine.pull(this.image);
        this.#container = await engine.create(name, spec);
      }
      const id = this.#container;
      if (this.#stopped !== undefined) return result({ signal: this.#stopped });
      const logs = new OutputPump(req, settings.log);
      await engine.start(id);
      this.#resolveSpawned({ pid: 0, pgid: 0, startedAt: Date.now() });
      const timeoutMs = req.timeoutMs ?? 0;
      if (timeoutMs > 0) {
        this.#timers.after(timeoutMs, () => {
          this.#timedOut = true;
          settings.log?.info({ ...fields, timeoutMs }, 'job timed out; stopping its container');
          this.kill();
        });
      }
      const stream = await engine.logs(id);
      const streamed = logs.follow(stream);
      const exit = await engine.wait(id);
      await streamed;
      const state = await engine.inspect(id);
      await logs.close();
      const oom = state.State?.OOMKilled === true;
      const error = exit.Error?.Message;
      return result({
        exitCode: exit.StatusCode,
        signal: this.#stopped !== undefined && exit.StatusCode >= 128 ? this.#stopped : null,
        ...(oom ? { oom: true } : {}),
        ...(error !== undefined && error !== '' ? { error } : {}),
      });
    } catch (err) {
      return result({ error: `docker driver: ${(err as Error).message}` });
    } finally {
      this.#finished = true;
      this.#timers.clear();
      this.#resolveSpawned(null);
      const id = this.#container;
      if (id !== undefined) await engine.remove(id).catch((err: unknown) => settings.log?.warn({ ...fields, err }, 'could not remove the container'));
    }
  }
}

/** The container's output into stdout.log / stderr.log and the line batches for the master. */
class OutputPump {
  readonly #files: Record<'stdout' | 'stderr', LogFile>;
  readonly #lines: Record<'stdout' | 'stderr', LineSplitter>;
  readonly #batcher: LineBatcher;

  constructor(req: StartRequest, log: Logger | undefined) {
    const fields = { jobId: req.jobId, attempt: req.attempt };
    this.#files = {
      stdout: new LogFile(path.join(req.workspace, 'stdout.log'), log, fields),
      stderr: new LogFile(path.join(req.workspace, 'stderr.log'), log, fields),
    };
    this.#batcher = new LineBatcher(256, 50, (lines) => req.onLines?.(lines));
    this.#lines = {
      stdout: new LineSplitter('stdout', 64 * 1024, (line) => this.#batcher.add(line)),
      stderr: new LineSplitter('stderr', 64 * 1024, (line) => this.#batcher.add(line)),
    };
  }

  follow(stream: Readable): Promise<void> {
    const valve = new Valve(stream);
    const demux = new LogDemuxer((kind, data) => {
      this.#files[kind].write(data, valve);
      this.#lines[kind].push(data, Date.now());
    });
    return new Promise((resolve) => {
      stream.on('data', (chunk: Buffer) => demux.push(chunk));
      stream.once('end', () => resolve());
      stream.once('error', () => resolve());
    });
  }

  async close(): Promise<void> {
    const at = Date.now();
    this.#lines.stdout.end(at);
    this.#lines.stderr.end(at);
    this.#batcher.flush();
    await Promise.all([this.#files.stdout.close(), this.#files.stderr.close()]);
  }
}
