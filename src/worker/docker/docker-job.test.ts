import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { StartRequest } from '../executor.js';
import type { OutputLine } from '../output-lines.js';
import { containerSpec, DockerJob, removeLeftoverContainers } from './docker-job.js';
import { DockerEngine, LogDemuxer } from './engine.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

let root = '';
before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'titan-docker-'));
});
after(() => rm(root, { recursive: true, force: true }));

function request(extra: Partial<StartRequest> = {}): StartRequest {
  const workspace = path.join(root, 'jobs', 'j1');
  return {
    jobId: 'j1',
    attempt: 2,
    run: { kind: 'command', command: 'echo hi' },
    args: [],
    env: { PATH: '/usr/bin', TITAN_JOB_ID: 'j1' },
    workspace,
    ...extra,
  };
}

describe('the docker driver, offline', () => {
  test("the engine's multiplexed log stream is split into stdout and stderr, across chunk boundaries", () => {
    const got: string[] = [];
    const demux = new LogDemuxer((stream, data) => got.push(`${stream}:${data.toString()}`));
    const bytes = Buffer.concat([frame(1, 'out line\n'), frame(2, 'err line\n'), frame(1, 'more')]);
    for (let i = 0; i < bytes.length; i += 5) demux.push(bytes.subarray(i, i + 5));
    assert.deepEqual(got, ['stdout:out line\n', 'stderr:err line\n', 'stdout:more']);
  });

  test('a container is asked for with the workspace mounted, the limits, the GPUs and the network the job declared', () => {
    const spec = containerSpec(
      request({ resources: { memoryMb: 256, cpu: 1.5, gpu: 1 }, network: 'none', writable: ['/data/shared/d1'] }),
      'python:3.12-slim',
      100,
    );
    assert.equal(spec.Image, 'python:3.12-slim');
    assert.deepEqual(spec.Cmd, ['echo', 'hi']);
    assert.equal(spec.WorkingDir, request().workspace);
    assert.deepEqual(spec.Env, ['TITAN_JOB_ID=j1']);
    assert.deepEqual(spec.HostConfig.Binds, [`${request().workspace}:${request().workspace}:rw`, '/data/shared/d1:/data/shared/d1:rw']);
    assert.equal(spec.HostConfig.Memory, 256 * 1048576);
    assert.equal(spec.HostConfig.MemorySwap, 256 * 1048576);
    assert.equal(spec.HostConfig.NanoCpus, 1.5e9);
    assert.equal(spec.HostConfig.PidsLimit, 100);
    assert.equal(spec.HostConfig.NetworkMode, 'none');
    assert.deepEqual(spec.HostConfig.DeviceRequests, [{ Driver: 'nvidia', Count: 1, Capabilities: [['gpu']] }]);
    assert.equal(containerSpec(request(), 'alpine', 0).HostConfig.NetworkMode, 'host');
    assert.equal(containerSpec(request(), 'alpine', 0, 'w1').Labels['titan.worker'], 'w1');
  });

  test('against an engine speaking the API on a unix socket: pull when missing, create, start, stream logs, wait, report oom, remove', async () => {
    const calls: string[] = [];
    let created: unknown;
    let haveImage = false;
    const server: Server = createServer((req, res) => {
      const url = req.url ?? '';
      calls.push(`${req.method ?? ''} ${url.replace(/\?.*$/, '')}`);
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (url.startsWith('/v1.41/containers/create')) {
          if (!haveImage) {
            res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'No such image: alpine:3' }));
            return;
          }
          created = JSON.parse(body);
          res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ Id: 'c0ffee' }));
        } else if (url.startsWith('/v1.41/images/create')) {
          haveImage = true;
          res.writeHead(200).end('{"status":"Pulling"}\n{"status":"Done"}\n');
        } else if (url.startsWith('/v1.41/containers/c0ffee/logs')) {
          res.writeHead(200, { 'content-type': 'application/vnd.docker.multiplexed-stream' });
          res.write(frame(1, 'hello from the container\n'));
          res.end(frame(2, 'and its stderr\n'));
        } else if (url.startsWith('/v1.41/containers/c0ffee/wait')) {
          res.writeHead(200).end(JSON.stringify({ StatusCode: 137, Error: null }));
        } else if (url.startsWith('/v1.41/containers/c0ffee/json')) {
          res.writeHead(200).end(JSON.stringify({ State: { OOMKilled: true, ExitCode: 137 } }));
        } else if (req.method === 'DELETE' && url.includes('titan-j1-2')) {
          res.writeHead(404).end(JSON.stringify({ message: 'No such container' }));
        } else {
          res.writeHead(204).end();
        }
      });
    });
    const socket = path.join(root, 'docker.sock');
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      const lines: OutputLine[] = [];
      const job = new DockerJob(request({ resources: { memoryMb: 64 }, onLines: (l) => lines.push(...l) }), 'alpine:3', {
        engine: new DockerEngine(socket),
        pidsLimit: 0,
        killGraceMs: 1000,
      });
      const result = await job.done;
      assert.equal(result.exitCode, 137);
      assert.equal(result.oom, true);
      assert.equal(result.error, undefined);
      assert.deepEqual(
        lines.map((l) => `${l.stream}:${l.line}`),
        ['stdout:hello from the container', 'stderr:and its stderr'],
      );
      assert.equal(await readFile(path.join(request().workspace, 'stdout.log'), 'utf8'), 'hello from the container\n');
      assert.equal((created as { HostConfig: { Memory: number } }).HostConfig.Memory, 64 * 1048576);
      assert.deepEqual(calls, [
        'DELETE /v1.41/containers/titan-j1-2',
        'POST /v1.41/containers/create',
        'POST /v1.41/images/create',
        'POST /v1.41/containers/create',
        'POST /v1.41/containers/c0ffee/start',
        'GET /v1.41/containers/c0ffee/logs',
        'POST /v1.41/containers/c0ffee/wait',
        'GET /v1.41/containers/c0ffee/json',
        'DELETE /v1.41/containers/c0ffee',
      ]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('a restarted worker removes the containers its previous life left, found by its label', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method ?? ''} ${decodeURIComponent(req.url ?? '')}`);
      if (req.method === 'GET') res.writeHead(200).end(JSON.stringify([{ Id: 'left1' }, { Id: 'left2' }]));
      else res.writeHead(204).end();
    });
    const socket = path.join(root, 'leftovers.sock');
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      assert.equal(await removeLeftoverContainers(new DockerEngine(socket), 'w7'), 2);
      assert.deepEqual(seen, [
        'GET /v1.41/containers/json?all=1&filters={"label":["titan.worker=w7"]}',
        'DELETE /v1.41/containers/left1?force=1&v=1',
        'DELETE /v1.41/containers/left2?force=1&v=1',
      ]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('an engine that is not there is named, with the fix', async () => {
    const job = new DockerJob(request(), 'alpine', { engine: new DockerEngine(path.join(root, 'nothing.sock')), pidsLimit: 0, killGraceMs: 1000 });
    const result = await job.done;
    assert.match(result.error ?? '', /cannot reach the Docker Engine at .*nothing\.sock.*start dockerd or pass --docker-socket/);
  });
});

describe('the docker driver, against a real engine', () => {
  test('a job runs in a container with its workspace mounted and its output streamed', async (t) => {
    const engine = new DockerEngine('/var/run/docker.sock');
    const reachable = await engine.ping().then(
      () => null,
      (err: unknown) => (err as Error).message,
    );
    if (reachable !== null) {
      t.skip(`no Docker Engine reachable here: ${reachable}`);
      return;
    }
    const lines: OutputLine[] = [];
    const req = request({ run: { kind: 'command', command: 'echo in-container > from-container.txt; echo done' }, onLines: (l) => lines.push(...l) });
    const result = await new DockerJob(req, 'alpine:3', { engine, pidsLimit: 64, killGraceMs: 2000 }).done;
    assert.equal(result.exitCode, 0, result.error);
    assert.deepEqual(
      lines.map((l) => l.line),
      ['done'],
    );
    assert.equal(await readFile(path.join(req.workspace, 'from-container.txt'), 'utf8'), 'in-container\n');
  });
});
