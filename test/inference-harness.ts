import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAIN, TOKEN, awaitLine, killAndWait, outputOf, until } from './harness.js';

const OLLAMA_MAIN = fileURLToPath(new URL('./ollama/main.js', import.meta.url));

export interface OllamaHandle {
  readonly url: string;
  /** Changes the server's behaviour at run time (POST /__control). */
  control(behaviour: { failMode?: 'none' | 'error' | 'hang' | 'drop'; latencyMs?: number; tokenDelayMs?: number }): Promise<void>;
}

export interface AgentSpec {
  readonly ollama: OllamaHandle;
  readonly vramTotalMb: number;
  readonly vramFreeMb: number;
  readonly maxConcurrency?: number;
  /** Dial the master through this port instead (a delaying relay). */
  readonly masterPort?: number;
}

export interface AgentStatusView {
  agent_id: string;
  status: string;
  endpoint: string;
  rtt_ms: number | null;
  running: number;
  models: { name: string }[];
  requests: Record<string, number>;
}

/**
 * A real inference cluster: a master (TCP, HTTP and gRPC all on port 0), Ollama-compatible test
 * servers and --inference workers, each its own process; close() kills them by PID.
 */
export class InferenceCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'titan-infer-'));
  port = 0;
  httpPort = 0;
  grpcPort = 0;
  private readonly children = new Set<ChildProcess>();
  private readonly relays = new Set<Server>();

  constructor() {
    // A root worker's jobs run as titan-job and must pass through to their workspaces here;
    // otherwise the workers would put them under /var/lib/titan-jobs, outside this temp dir.
    chmodSync(this.dir, 0o711);
  }

  async startMaster(config: object, env: Record<string, string> = {}): Promise<void> {
    const configFile = join(this.dir, 'inference.json');
    writeFileSync(configFile, JSON.stringify(config));
    const child = this.spawn(
      [
        MAIN,
        'master',
        '--listen',
        '127.0.0.1:0',
        '--data-dir',
        join(this.dir, 'master'),
        '--token',
        TOKEN,
        '--heartbeat-interval',
        '200',
        '--http',
        '127.0.0.1:0',
        '--grpc',
        '127.0.0.1:0',
        '--inference-config',
        configFile,
      ],
      env,
    );
    const m = await awaitLine(
      child,
      /listening on 127\.0\.0\.1:(\d+)[\s\S]*dashboard on http:\/\/127\.0\.0\.1:(\d+)[\s\S]*grpc coordinator on 127\.0\.0\.1:(\d+)/,
      30_000,
      'master',
    );
    this.port = Number(m[1]);
    this.httpPort = Number(m[2]);
    this.grpcPort = Number(m[3]);
  }

  async startOllama(models: string): Promise<OllamaHandle> {
    const child = this.spawn([OLLAMA_MAIN, '--port', '0', '--models', models]);
    const m = await awaitLine(child, /listening on 127\.0\.0\.1:(\d+)/, 30_000, 'ollama test server');
    const url = `http://127.0.0.1:${m[1] ?? ''}`;
    return {
      url,
      control: async (behaviour) => {
        const res = await fetch(`${url}/__control`, { method: 'POST', body: JSON.stringify(behaviour) });
        if (!res.ok) throw new Error(`control ${url}: ${res.status}`);
      },
    };
  }

  /** Starts an --inference worker and waits until the master lists it as an agent with its models. */
  async startAgent(id: string, spec: AgentSpec): Promise<AgentStatusView> {
    const args = [
      MAIN,
      'worker',
      '--master',
      `127.0.0.1:${spec.masterPort ?? this.port}`,
      '--token',
      TOKEN,
      '--id',
      id,
      '--work-dir',
      join(this.dir, 'workers', id),
      '--inference',
      spec.ollama.url,
      '--inference-listen',
      '127.0.0.1:0',
      '--vram-total-mb',
      String(spec.vramTotalMb),
      '--vram-free-mb',
      String(spec.vramFreeMb),
      '--inference-max-concurrency',
      String(spec.maxConcurrency ?? 4),
      '--inference-timeout',
      '3000',
    ];
    this.spawn(args);
    return until(
      `agent ${id} to report its models`,
      async () => {
        const agent = (await this.agents()).find((a) => a.agent_id === id);
        return agent !== undefined && agent.models.length > 0 && agent.rtt_ms !== null ? agent : undefined;
      },
      30_000,
    );
  }

  async agents(): Promise<AgentStatusView[]> {
    const status = (await (await this.rest('/api/v1/status?include_agents=true')).json()) as { agents: AgentStatusView[] };
    return status.agents;
  }

  rest(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`http://127.0.0.1:${this.httpPort}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    });
  }

  /** A TCP relay to the master that holds every chunk for delayMs each way: a far-away worker. */
  async delayingRelay(delayMs: number): Promise<number> {
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      const upstream = connect({ host: '127.0.0.1', port: this.port });
      sockets.add(client).add(upstream);
      const relay = (from: Socket, to: Socket): void => {
        from.on('data', (chunk) => setTimeout(() => to.destroyed || to.write(chunk), delayMs).unref());
        from.on('close', () => setTimeout(() => to.destroy(), delayMs).unref());
        from.on('error', () => to.destroy());
      };
      relay(client, upstream);
      relay(upstream, client);
    });
    server.on('close', () => {
      for (const s of sockets) s.destroy();
    });
    this.relays.add(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Runs `titan <args>` against this master. */
  cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const [command, ...rest] = args;
    return outputOf(this.spawn([MAIN, command ?? '', '--master', `127.0.0.1:${this.port}`, '--token', TOKEN, ...rest]));
  }

  async close(): Promise<void> {
    for (const relay of this.relays) relay.close();
    await Promise.all([...this.children].map((c) => killAndWait(c, 'SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private spawn(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TITAN_HOME: this.dir, TITAN_LOG_LEVEL: 'warn', ...env },
    });
    child.stderr?.on('data', (c: Buffer) => {
      if (process.env.TITAN_TEST_VERBOSE) process.stderr.write(c);
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }
}
