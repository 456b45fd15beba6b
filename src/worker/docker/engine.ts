/**
 * A small client of the Docker Engine API over its unix socket: just what the docker driver
 * needs (create, pull, start, logs, wait, inspect, kill, remove), with node:http and no SDK.
 */
import { request, type IncomingMessage } from 'node:http';

export const DOCKER_API = '/v1.41';

export class EngineError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

export interface ContainerSpec {
  readonly Image: string;
  readonly Cmd: readonly string[];
  readonly Env: readonly string[];
  readonly WorkingDir: string;
  readonly Labels: Readonly<Record<string, string>>;
  readonly HostConfig: {
    readonly Binds: readonly string[];
    readonly Memory?: number;
    readonly MemorySwap?: number;
    readonly NanoCpus?: number;
    readonly PidsLimit?: number;
    readonly NetworkMode: string;
    readonly DeviceRequests?: ReadonlyArray<{ readonly Driver: string; readonly Count: number; readonly Capabilities: readonly (readonly string[])[] }>;
  };
}

export class DockerEngine {
  constructor(readonly socketPath: string) {}

  /** Resolves with the engine's version when it answers, rejects naming the socket otherwise. */
  async ping(): Promise<string> {
    const body = await this.json<{ Version?: string }>('GET', '/version');
    return body.Version ?? 'unknown';
  }

  async create(name: string, spec: ContainerSpec): Promise<string> {
    const body = await this.json<{ Id: string }>('POST', `/containers/create?name=${encodeURIComponent(name)}`, spec);
    return body.Id;
  }

  /** Pulls an image (`name:tag`), waiting for the pull's progress stream to end. */
  async pull(image: string): Promise<void> {
    const colon = image.lastIndexOf(':');
    const hasTag = colon > image.lastIndexOf('/');
    const from = hasTag ? image.slice(0, colon) : image;
    const tag = hasTag ? image.slice(colon + 1) : 'latest';
    const res = await this.call('POST', `/images/create?fromImage=${encodeURIComponent(from)}&tag=${encodeURIComponent(tag)}`);
    const text = await readAll(res);
    // Errors during a pull arrive as a JSON line in a 200 stream.
    const failed = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { error?: string })
      .find((m) => m.error !== undefined);
    if (failed?.error !== undefined) throw new EngineError(500, `pulling ${image}: ${failed.error}`);
  }

  /** Ids of the containers (running or not) carrying this label, e.g. `titan.worker=w1`. */
  async listByLabel(label: string): Promise<string[]> {
    const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
    const list = await this.json<Array<{ Id: string }>>('GET', `/containers/json?all=1&filters=${filters}`);
    return list.map((c) => c.Id);
  }

  async start(id: string): Promise<void> {
    await this.json('POST', `/containers/${id}/start`);
  }

  /** The container's output as the engine multiplexes it (no TTY): call demux on the chunks. */
  logs(id: string): Promise<IncomingMessage> {
    return this.call('GET', `/containers/${id}/logs?follow=1&stdout=1&stderr=1`);
  }

  async wait(id: string): Promise<{ StatusCode: number; Error?: { Message?: string } | null }> {
    return this.json('POST', `/containers/${id}/wait`);
  }

  async inspect(id: string): Promise<{ State?: { OOMKilled?: boolean; ExitCode?: number } }> {
    return this.json('GET', `/containers/${id}/json`);
  }

  async kill(id: string, signal: string): Promise<void> {
    await this.json('POST', `/containers/${id}/kill?signal=${signal}`).catch((err: unknown) => {
      // 409: not running any more, which is what a kill wants.
      if (!(err instanceof EngineError && (err.status === 409 || err.status === 404))) throw err;
    });
  }

  async remove(id: string): Promise<void> {
    await this.json('DELETE', `/containers/${id}?force=1&v=1`).catch((err: unknown) => {
      if (!(err instanceof EngineError && err.status === 404)) throw err;
    });
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.call(method, path, body);
    const text = await readAll(res);
    return (text === '' ? {} : JSON.parse(text)) as T;
  }

  private call(method: string, path: string, body?: unknown): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          socketPath: this.socketPath,
          path: `${DOCKER_API}${path}`,
          method,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status < 300) {
            resolve(res);
            return;
          }
          void readAll(res).then((text) => {
            let message = text.trim();
            try {
              message = (JSON.parse(text) as { message?: string }).message ?? message;
            } catch {
              // not JSON: keep the text
            }
            reject(new EngineError(status, `docker ${method} ${path}: ${status} ${message}`));
          }, reject);
        },
      );
      req.once('error', (err: NodeJS.ErrnoException) => {
        reject(new EngineError(0, `cannot reach the Docker Engine at ${this.socketPath} (${err.code ?? err.message}); start dockerd or pass --docker-socket`));
      });
      req.end(payload);
    });
  }
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
  });
}

/**
 * Splits the engine's multiplexed log stream: frames of an 8-byte header (stream 1 stdout,
 * 2 stderr; bytes 4-7 the payload length, big-endian) and the payload. Keeps a partial frame
 * between chunks.
 */
export class LogDemuxer {
  #pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: 'stdout' | 'stderr', data: Buffer) => void) {}

  push(chunk: Buffer): void {
    let buffer = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (buffer.length >= 8) {
      const size = buffer.readUInt32BE(4);
      if (buffer.length < 8 + size) break;
      const kind = buffer[0];
      this.onFrame(kind === 2 ? 'stderr' : 'stdout', buffer.subarray(8, 8 + size));
      buffer = buffer.subarray(8 + size);
    }
    this.#pending = Buffer.from(buffer);
  }
}
