import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { DagStatusView, JobView } from '../src/sdk/client.js';
import { Cluster, MAIN, TOKEN } from './harness.js';

interface ToolAnswer {
  readonly isError: boolean;
  readonly text: string;
}

describe("`titan mcp` driven by the MCP SDK's own client", () => {
  const cluster = new Cluster();
  const mcp = new Client({ name: 'titan-e2e', version: '1.0.0' });
  let transport: StdioClientTransport;
  let serverLog = '';

  async function call(name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> {
    const result = await mcp.callTool({ name, arguments: args });
    const content = result.content as Array<{ type: string; text?: string }>;
    assert.equal(content.length, 1, `${name} answers with one content block`);
    assert.equal(content[0]?.type, 'text');
    return { isError: result.isError === true, text: content[0]?.text ?? '' };
  }

  /** Calls a tool that must succeed and parses its JSON answer. */
  async function ok<T>(name: string, args: Record<string, unknown> = {}): Promise<T> {
    const answer = await call(name, args);
    assert.equal(answer.isError, false, `${name} failed: ${answer.text}\nserver stderr:\n${serverLog}`);
    return JSON.parse(answer.text) as T;
  }

  before(async () => {
    await cluster.startMaster();
    await cluster.startWorker('w1', { slots: 4 });
    const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
    transport = new StdioClientTransport({
      command: process.execPath,
      args: [MAIN, 'mcp', '--master', `127.0.0.1:${cluster.port}`, '--token', TOKEN],
      env: { ...env, TITAN_HOME: cluster.dir, TITAN_LOG_LEVEL: 'info' },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
    await mcp.connect(transport);
  });
  after(async () => {
    await mcp.close();
    await cluster.close();
  });

  test('lists every tool, each with a description and an object input schema', async () => {
    const { tools } = await mcp.listTools();
    const names = tools.map((t) => t.name).sort();
    assert.deepEqual(names, [
      'add_jobs',
      'approve',
      'cancel',
      'dag_status',
      'deploy_service',
      'job_logs',
      'job_status',
      'kv_get',
      'kv_put',
      'kv_sadd',
      'kv_smembers',
      'list_dags',
      'list_jobs',
      'list_services',
      'list_workers',
      'reject',
      'restart_service',
      'stop_service',
      'submit_dag',
      'submit_job',
      'wait_dag',
      'wait_job',
    ]);
    for (const tool of tools) {
      assert.ok((tool.description ?? '').length > 20, `${tool.name} has a description`);
      assert.equal(tool.inputSchema.type, 'object');
    }
    const submit = tools.find((t) => t.name === 'submit_job');
    assert.ok(submit?.inputSchema.properties?.script !== undefined && submit.inputSchema.properties.filename !== undefined);
  });

  test('an inline python script runs as a job; wait_job returns its final view and job_logs its output', async () => {
    const script = ['import os, sys', 'print("hello from", sys.argv[1], os.environ["GREETING"])', 'print("second line")', ''].join('\n');
    const { jobId } = await ok<{ jobId: string }>('submit_job', { script, filename: 'hello.py', args: ['mcp'], env: { GREETING: 'hi' } });
    const waited = await ok<{ final: boolean; job: JobView }>('wait_job', { job_id: jobId, timeout_seconds: 30 });
    assert.equal(waited.final, true);
    assert.equal(waited.job.state, 'succeeded', JSON.stringify(waited.job));
    assert.equal(waited.job.workerId, 'w1');
    const logs = await ok<{ total: number; lines: Array<{ stream: string; line: string }> }>('job_logs', { job_id: jobId, lines: 1 });
    assert.equal(logs.total, 2);
    assert.deepEqual(logs.lines, [{ attempt: 1, stream: 'stdout', line: 'second line' }]);
    const all = await ok<{ lines: Array<{ line: string }> }>('job_logs', { job_id: jobId });
    assert.equal(all.lines[0]?.line, 'hello from mcp hi');
    assert.equal((await ok<JobView>('job_status', { job_id: jobId })).exitCode, 0);
  });

  test('memory and cpu given to submit_job are reserved for the job', async () => {
    const { jobId } = await ok<{ jobId: string }>('submit_job', { command: 'echo fenced', memory: '64M', cpu: 0.5 });
    const waited = await ok<{ final: boolean; job: JobView }>('wait_job', { job_id: jobId, timeout_seconds: 30 });
    assert.equal(waited.job.state, 'succeeded', JSON.stringify(waited.job));
    assert.deepEqual(waited.job.resources, { cpu: 0.5, memoryMb: 64 });
  });

  test('a two-job DAG (an inline shell script, then a command) runs in order and wait_dag returns it finished', async () => {
    const { dagId, jobIds } = await ok<{ dagId: string; jobIds: string[] }>('submit_dag', {
      name: 'mcp-dag',
      jobs: [
        { key: 'second', command: 'echo "second after $1"', args: ['first'], parents: ['first'] },
        { key: 'first', script: '#!/bin/bash\nset -e\necho "first in ${BASH_VERSION%%.*}"\n', filename: 'first.sh' },
      ],
    });
    assert.equal(jobIds.length, 2);
    const done = await ok<DagStatusView & { final: boolean }>('wait_dag', { dag_id: dagId, timeout_seconds: 30 });
    assert.equal(done.final, true);
    assert.equal(done.dag.state, 'succeeded', JSON.stringify(done.jobs.map((j) => [j.key, j.state, j.reason])));
    const byKey = new Map(done.jobs.map((j) => [j.key, j]));
    assert.ok((byKey.get('first')?.finishedAt ?? Infinity) <= (byKey.get('second')?.startedAt ?? 0), 'second started after first finished');
    const logs = await ok<{ lines: Array<{ line: string }> }>('job_logs', { job_id: `${dagId}.second` });
    assert.deepEqual(
      logs.lines.map((l) => l.line),
      ['second after first'],
    );
    assert.equal((await ok<DagStatusView>('dag_status', { dag_id: dagId })).dag.state, 'succeeded');
  });

  test('kv_put then kv_get round-trips a value that the SDK sees too; sets work through kv_sadd/kv_smembers', async () => {
    await ok('kv_put', { key: 'mcp/greeting', value: 'hello' });
    assert.deepEqual(await ok('kv_get', { key: 'mcp/greeting' }), { key: 'mcp/greeting', value: 'hello' });
    assert.equal(await (await cluster.client()).kv.get('mcp/greeting'), 'hello');
    assert.deepEqual(await ok('kv_get', { key: 'mcp/absent' }), { key: 'mcp/absent', value: null });
    assert.deepEqual(await ok('kv_sadd', { key: 'mcp/set', members: ['a', 'b', 'a'] }), { key: 'mcp/set', added: 2 });
    assert.deepEqual(await ok('kv_smembers', { key: 'mcp/set' }), { key: 'mcp/set', members: ['a', 'b'] });
  });

  test('a bad call comes back as a tool error with the reason, and the server keeps serving', async () => {
    const unknown = await call('job_status', { job_id: 'no-such-job' });
    assert.equal(unknown.isError, true);
    assert.match(unknown.text, /no-such-job/);
    assert.match(unknown.text, /E_UNKNOWN_JOB/);
    const nothingToRun = await call('submit_job', { args: ['x'] });
    assert.equal(nothingToRun.isError, true);
    assert.match(nothingToRun.text, /give a command .* or a script/);
    const noFilename = await call('submit_job', { script: 'print(1)' });
    assert.match(noFilename.text, /needs a filename/);
    const stats = await ok<{ workers: Array<{ id: string; health: string }> }>('list_workers');
    assert.deepEqual(
      stats.workers.map((w) => [w.id, w.health]),
      [['w1', 'healthy']],
    );
    assert.doesNotMatch(serverLog, /"level":(50|60)/, 'nothing logged as an error or fatal');
  });

  test('after the master restarts, the next call reconnects on its own', async () => {
    await cluster.killMaster();
    await cluster.startMaster();
    assert.deepEqual(await ok('kv_get', { key: 'mcp/greeting' }), { key: 'mcp/greeting', value: 'hello' });
    await ok('kv_put', { key: 'mcp/after-restart', value: 'yes' });
  });
});
