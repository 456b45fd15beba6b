import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { DagView, JobView, ServiceView } from '../src/sdk/client.js';
import { Cluster, MAIN, TOKEN, until } from './harness.js';

interface ToolAnswer {
  readonly isError: boolean;
  readonly text: string;
}

/** `titan mcp` on stdio with one token, driven by the MCP SDK's own client. */
class McpSession {
  private readonly client = new Client({ name: 'titan-e2e-services', version: '1.0.0' });
  log = '';

  static async start(cluster: Cluster, token: string): Promise<McpSession> {
    const session = new McpSession();
    const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MAIN, 'mcp', '--master', `127.0.0.1:${cluster.port}`],
      env: { ...env, TITAN_HOME: cluster.dir, TITAN_TOKEN: token, TITAN_LOG_LEVEL: 'info' },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) => (session.log += chunk.toString()));
    await session.client.connect(transport);
    return session;
  }

  async call(name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> {
    const result = await this.client.callTool({ name, arguments: args });
    const content = result.content as Array<{ type: string; text?: string }>;
    return { isError: result.isError === true, text: content[0]?.text ?? '' };
  }

  async ok<T>(name: string, args: Record<string, unknown> = {}): Promise<T> {
    const answer = await this.call(name, args);
    assert.equal(answer.isError, false, `${name} failed: ${answer.text}\nserver stderr:\n${this.log}`);
    return JSON.parse(answer.text) as T;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

const SERVER = [
  'import http.server, os',
  'class H(http.server.BaseHTTPRequestHandler):',
  '    def do_GET(self):',
  '        self.send_response(200); self.end_headers(); self.wfile.write(os.environ.get("VERSION", "?").encode())',
  '    def log_message(self, *a): pass',
  'http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()',
  '',
].join('\n');

describe("MCP tools for jobs, DAGs and services, within the caller's role", () => {
  const cluster = new Cluster();
  let admin: McpSession;
  let viewer: McpSession;

  before(async () => {
    await cluster.startMaster();
    await cluster.startWorker('w1', { slots: 4 });
    admin = await McpSession.start(cluster, TOKEN);
    viewer = await McpSession.start(cluster, await cluster.apiToken('mcp-viewer', 'viewer'));
  });
  after(async () => {
    await admin.close();
    await viewer.close();
    await cluster.close();
  });

  const serviceNamed = async (name: string): Promise<ServiceView | undefined> => (await admin.ok<ServiceView[]>('list_services')).find((s) => s.name === name);
  const answers = async (port: number): Promise<string> => (await fetch(`http://127.0.0.1:${port}/`)).text();

  test('list_jobs filters by state and list_dags lists DAG runs, for a viewer too', async () => {
    const { jobId } = await admin.ok<{ jobId: string }>('submit_job', { command: 'exit 3', name: 'fails-on-purpose' });
    await admin.ok('wait_job', { job_id: jobId, timeout_seconds: 30 });
    const { dagId } = await admin.ok<{ dagId: string }>('submit_dag', { name: 'listed', jobs: [{ key: 'a', command: 'true' }] });
    await admin.ok('wait_dag', { dag_id: dagId, timeout_seconds: 30 });

    const failed = await viewer.ok<JobView[]>('list_jobs', { states: ['failed'] });
    assert.deepEqual(
      failed.map((j) => j.id),
      [jobId],
      'only the failed job',
    );
    assert.equal(failed[0]?.exitCode, 3);
    assert.ok((await viewer.ok<JobView[]>('list_jobs', { limit: 1 })).length === 1);
    const dags = await viewer.ok<DagView[]>('list_dags');
    assert.deepEqual(
      dags.map((d) => [d.id, d.name, d.state]),
      [[dagId, 'listed', 'succeeded']],
    );
    const bad = await viewer.call('list_jobs', { states: ['sleeping'] });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /states/);
  });

  test('deploy_service runs an inline script as a service; restart_service restarts it; deploying the name again rolls it over; stop_service stops it', async () => {
    const deployed = await admin.ok<{ serviceIds: string[]; replaced: string[] }>('deploy_service', {
      name: 'web',
      script: SERVER,
      filename: 'web.py',
      env: { VERSION: 'v1' },
    });
    assert.equal(deployed.serviceIds.length, 1);
    const first = await until(
      'web to be ready',
      async () => {
        const s = await serviceNamed('web');
        return s?.ready === true && s.port !== null ? s : undefined;
      },
      30_000,
    );
    assert.equal(first.id, deployed.serviceIds[0]);
    assert.equal(await answers(first.port ?? 0), 'v1');

    const restarted = await admin.ok<JobView>('restart_service', { service_id: first.id });
    assert.equal(restarted.id, first.id);
    await until(
      'web to come back as a new attempt',
      async () => {
        const s = await serviceNamed('web');
        const view = await admin.ok<JobView>('job_status', { job_id: first.id });
        return s?.ready === true && view.attempt > 1 ? s : undefined;
      },
      30_000,
    );

    const rolled = await admin.ok<{ serviceIds: string[]; replaced: string[] }>('deploy_service', {
      name: 'web',
      script: SERVER,
      filename: 'web.py',
      env: { VERSION: 'v2' },
    });
    assert.deepEqual(rolled.replaced, [first.id], 'the running replica was replaced');
    const second = await until(
      'the new version to serve',
      async () => {
        const s = await serviceNamed('web');
        return s !== undefined && s.id === rolled.serviceIds[0] && s.ready && s.port !== null ? s : undefined;
      },
      30_000,
    );
    assert.equal(await answers(second.port ?? 0), 'v2');

    const stopped = await admin.ok<JobView>('stop_service', { service_id: second.id });
    assert.equal(stopped.id, second.id);
    await until('web to be gone from the list', async () => (await serviceNamed('web')) === undefined, 30_000);
  });

  test('a viewer token lists services but is refused deploy, stop and restart, and nothing changes', async () => {
    const { serviceIds } = await admin.ok<{ serviceIds: string[] }>('deploy_service', {
      name: 'kept',
      command: 'exec python3 -m http.server "$PORT" --bind 127.0.0.1',
    });
    const kept = await until(
      'kept to be ready',
      async () => {
        const s = (await viewer.ok<ServiceView[]>('list_services')).find((v) => v.name === 'kept');
        return s?.ready === true ? s : undefined;
      },
      30_000,
    );
    assert.equal(kept.id, serviceIds[0], 'the viewer sees the service');

    const deploy = await viewer.call('deploy_service', { name: 'intruder', command: 'sleep 600' });
    assert.equal(deploy.isError, true, deploy.text);
    assert.match(deploy.text, /refused for mcp-viewer: role viewer may not deploy/);
    for (const tool of ['stop_service', 'restart_service']) {
      const refused = await viewer.call(tool, { service_id: kept.id });
      assert.equal(refused.isError, true, `${tool}: ${refused.text}`);
      assert.match(refused.text, /refused for mcp-viewer: role viewer may not deploy/);
    }
    const after = await admin.ok<ServiceView[]>('list_services');
    assert.deepEqual(
      after.map((s) => s.name),
      ['kept'],
      'no service was deployed by the viewer',
    );
    assert.equal(after[0]?.restarts, kept.restarts, 'nor restarted');
    assert.equal((await admin.ok<JobView>('job_status', { job_id: kept.id })).attempt, 1, 'nor stopped or restarted');
    await admin.ok('stop_service', { service_id: kept.id });
  });
});
