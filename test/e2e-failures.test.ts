import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { readdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, killAndWait, until } from './harness.js';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a job whose worker is killed with SIGKILL is re-queued once its lease has run out and succeeds on the other worker', async (t) => {
  const cluster = new Cluster(3_000);
  t.after(() => cluster.close());
  await cluster.startMaster();
  const doomed = await cluster.startWorker('doomed', { slots: 1 });
  const client = await cluster.client();
  const marker = join(cluster.dir, 'started');
  const { jobId } = await client.submit({ command: `sh -c 'touch ${marker}; sleep 1; echo finished on $TITAN_WORKER_ID'` });
  await until('the job to start on the doomed worker', async () => existsSync(marker));
  await killAndWait(doomed.process, 'SIGKILL');
  await cluster.startWorker('survivor', { slots: 1 });
  const job = await client.wait(jobId);
  assert.equal(job.state, 'succeeded');
  assert.equal(job.workerId, 'survivor');
  assert.equal(job.attempt, 2);
});

test('a master killed with SIGKILL mid-run and restarted loses nothing and runs no job twice', async (t) => {
  const cluster = new Cluster();
  t.after(() => cluster.close());
  await cluster.startMaster();
  await cluster.startWorker('w1', { slots: 3 });
  await cluster.startWorker('w2', { slots: 3 });
  const ledger = cluster.sharedFolder('ledger');
  const client = await cluster.client();
  // Each run leaves one file named after its job and attempt: a second run of a job would show.
  const { jobIds } = await client.submitMany(
    Array.from({ length: 30 }, (_, i) => ({ command: `sh -c 'touch ${ledger}/$TITAN_JOB_ID.$TITAN_ATTEMPT; sleep 0.${(i % 4) + 2}'` })),
  );
  await until('some jobs to have run', async () => readdirSync(ledger).length >= 8);
  await cluster.killMaster();
  await cluster.startMaster();
  const after = await cluster.client();
  for (const jobId of jobIds) assert.equal((await after.wait(jobId)).state, 'succeeded', `job ${jobId}`);
  const runs = readdirSync(ledger).map((f) => f.split('.')[0]);
  assert.equal(runs.length, jobIds.length, `each job ran exactly once; ledger: ${runs.sort().join(' ')}`);
  assert.deepEqual(new Set(runs), new Set(jobIds));
});

test('what a job prints while its worker has no master reaches the next master, in order, each line once', async (t) => {
  const cluster = new Cluster();
  t.after(() => cluster.close());
  await cluster.startMaster();
  await cluster.startWorker('w1', { slots: 1 });
  const client = await cluster.client();
  const dir = cluster.sharedFolder('gap');
  const waitFor = (name: string): string => `while [ ! -e ${dir}/${name} ]; do sleep 0.05; done`;
  const { jobId } = await client.submit({
    command: `sh -c 'echo before; ${waitFor('go')}; echo during-1; echo during-2 >&2; echo during-3; touch ${dir}/printed; ${waitFor('end')}; echo after'`,
  });
  await until('the first line to be stored', async () => (await client.logs(jobId)).some((l) => l.line === 'before'));
  await cluster.killMaster();
  writeFileSync(join(dir, 'go'), '');
  await until('the job to print while there is no master', async () => existsSync(join(dir, 'printed')));
  await cluster.startMaster();
  writeFileSync(join(dir, 'end'), '');
  const after = await cluster.client();
  const job = await after.wait(jobId);
  assert.equal(job.state, 'succeeded');
  assert.equal(job.attempt, 1, 'adopted, not run again');
  const lines = await after.logs(jobId);
  // Two pipes: each stream's lines keep their order; between the streams there is no order to keep.
  const of = (stream: string): string[] => lines.filter((l) => l.stream === stream).map((l) => l.line);
  assert.deepEqual(of('stdout'), ['before', 'during-1', 'during-3', 'after']);
  assert.deepEqual(of('stderr'), ['during-2']);
});

test('a thousand malformed frames never stop the master from serving', async (t) => {
  const cluster = new Cluster();
  t.after(() => cluster.close());
  await cluster.startMaster();
  await cluster.startWorker('w1');
  const garbage = (i: number): Buffer => {
    const kinds = [
      Buffer.from([9, 1, 0, 0, 0, 0, 0, 0]), // unknown version
      Buffer.from([2, 250, 0, 0, 0, 0, 0, 1, 0]), // unknown opcode
      Buffer.from([2, 1, 0, 0, 0xff, 0xff, 0xff, 0xff]), // over the size limit
      Buffer.concat([Buffer.from([2, 1, 0, 0, 0, 0, 0, 3]), Buffer.from([0xc1, 0xc1, 0xc1])]), // undecodable body
      Buffer.from(Array.from({ length: 64 }, (_, k) => (i * 31 + k * 17) & 0xff)), // noise
    ];
    return kinds[i % kinds.length]!;
  };
  let answeredWithError = 0;
  for (let batch = 0; batch < 20; batch++) {
    await Promise.all(
      Array.from(
        { length: 50 },
        (_, k) =>
          new Promise<void>((resolve) => {
            const socket = connect({ host: '127.0.0.1', port: cluster.port }, () => socket.write(garbage(batch * 50 + k)));
            let got = Buffer.alloc(0);
            socket.on('data', (c: Buffer) => (got = Buffer.concat([got, c])));
            socket.on('error', () => undefined);
            socket.setTimeout(5_000, () => socket.destroy());
            socket.on('close', () => {
              if (got.length >= 8 && (got[2]! & 0x02) !== 0) answeredWithError++;
              resolve();
            });
          }),
      ),
    );
  }
  assert.ok(answeredWithError >= 800, `most malformed frames get an error frame back (got ${answeredWithError} of 1000)`);
  const client = await cluster.client();
  const { jobId } = await client.submit({ command: 'echo still serving' });
  assert.equal((await client.wait(jobId)).state, 'succeeded');
});

test('a worker killed with SIGKILL leaves no job process behind (its watchdog kills them; a restart kills any its pid registry still names)', async (t) => {
  const cluster = new Cluster();
  t.after(() => cluster.close());
  await cluster.startMaster();
  const first = await cluster.startWorker('phoenix', { slots: 1 });
  const client = await cluster.client();
  const pidFile = join(cluster.dir, 'job.pid');
  await client.submit({ command: `sh -c 'echo $$ > ${pidFile}; exec sleep 300'` });
  await until('the job to write its pid', async () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim().length > 0);
  const orphan = Number(readFileSync(pidFile, 'utf8').trim());
  const registry = join(first.workDir, 'pids.json');
  await until('the worker to record the job in its pid registry', async () => existsSync(registry) && readFileSync(registry, 'utf8').includes('"jobId"'));
  await killAndWait(first.process, 'SIGKILL');
  await until('the orphan to be killed', async () => !processAlive(orphan));
  await cluster.startWorker('phoenix', { slots: 1, workDir: first.workDir });
});

test('a worker told to stop with SIGTERM finishes its running job before it exits', async (t) => {
  const cluster = new Cluster();
  t.after(() => cluster.close());
  await cluster.startMaster();
  const worker = await cluster.startWorker('drainer', { slots: 1 });
  const client = await cluster.client();
  const marker = join(cluster.dir, 'began');
  const { jobId } = await client.submit({ command: `sh -c 'touch ${marker}; sleep 0.5; echo drained'` });
  await until('the job to start', async () => existsSync(marker));
  const exited = new Promise<number | null>((resolve) => worker.process.once('exit', (code) => resolve(code)));
  worker.process.kill('SIGTERM');
  assert.equal(await exited, 0);
  const job = await client.wait(jobId);
  assert.equal(job.state, 'succeeded');
  assert.equal(job.attempt, 1);
});

test('a worker that stops heartbeating is declared dead after the timeout and its job runs elsewhere', async (t) => {
  const cluster = new Cluster(1_500);
  t.after(() => cluster.close());
  await cluster.startMaster();
  const frozen = await cluster.startWorker('frozen', { slots: 1 });
  const client = await cluster.client();
  const marker = join(cluster.dir, 'frozen-started');
  const { jobId } = await client.submit({ command: `sh -c 'touch ${marker}-$TITAN_ATTEMPT; sleep 0.5'` });
  await until('the job to start', async () => existsSync(`${marker}-1`));
  // SIGSTOP keeps the connection open but silences the worker: only the heartbeat deadline can tell.
  frozen.process.kill('SIGSTOP');
  t.after(() => {
    frozen.process.kill('SIGCONT');
  });
  await cluster.startWorker('healthy', { slots: 1 });
  const job = await client.wait(jobId);
  assert.equal(job.state, 'succeeded');
  assert.equal(job.workerId, 'healthy');
  assert.equal(job.attempt, 2);
});

test('a job whose worker keeps dying under it is a poison pill: after three lost workers it goes dead instead of crash-looping', async (t) => {
  const cluster = new Cluster(3_000);
  t.after(() => cluster.close());
  await cluster.startMaster();
  const client = await cluster.client();
  const started = cluster.sharedFolder('started');
  // The job cannot kill its worker itself (it runs as another user), so the test does, each time an attempt starts.
  const { jobId } = await client.submit({ command: `sh -c 'touch ${started}/$TITAN_ATTEMPT; sleep 30'`, retries: 5 });
  for (let attempt = 1; attempt <= 3; attempt++) {
    const worker = await cluster.startWorker('victim', { slots: 1, workDir: join(cluster.dir, 'victim') });
    await until(`attempt ${attempt} to start`, async () => existsSync(join(started, String(attempt))));
    await killAndWait(worker.process, 'SIGKILL');
  }
  const job = await client.wait(jobId);
  assert.equal(job.state, 'dead');
  assert.match(job.reason ?? '', /poison pill: its worker was lost 3 times/);
  const dlq = await cluster.cli(['dlq', '--json']);
  assert.ok((JSON.parse(dlq.stdout) as Array<{ id: string }>).some((j) => j.id === jobId));
});

test('a service outlives its machines: its worker is SIGKILLed four times, each time after it came up, and it is ready on the fifth', async (t) => {
  const cluster = new Cluster(3_000);
  t.after(() => cluster.close());
  await cluster.startMaster();
  const client = await cluster.client();
  const { jobId } = await client.submit({
    command: 'exec python3 -m http.server "$PORT" --bind 127.0.0.1',
    service: { port: null, restart: 'always', maxRestarts: 5, windowSeconds: 60 },
  });
  const readyOn = async (workerId: string): Promise<boolean> => (await client.services()).some((s) => s.id === jobId && s.ready && s.workerId === workerId);
  for (let machine = 1; machine <= 5; machine++) {
    const worker = await cluster.startWorker(`machine-${machine}`, { slots: 1 });
    await until(`the service ready on machine ${machine}`, () => readyOn(`machine-${machine}`), 30_000);
    if (machine < 5) await killAndWait(worker.process, 'SIGKILL');
  }
  const job = await client.status(jobId);
  assert.equal(job.state, 'running');
  assert.equal(job.attempt, 5);
});

test('`titan shutdown <worker>` drains it: its running job finishes, the process exits, and `titan workers` no longer lists it', async (t) => {
  const cluster = new Cluster();
  t.after(() => cluster.close());
  await cluster.startMaster();
  const worker = await cluster.startWorker('retiring', { slots: 1 });
  const client = await cluster.client();
  const listed = await cluster.cli(['workers', '--json']);
  const workers = JSON.parse(listed.stdout) as Array<{ id: string; version: string; uptimeMs: number | null }>;
  assert.equal(workers[0]?.id, 'retiring');
  assert.equal(workers[0]?.version, '0.1.0');
  assert.ok((workers[0]?.uptimeMs ?? -1) >= 0);
  const marker = join(cluster.dir, 'retiring-started');
  const { jobId } = await client.submit({ command: `sh -c 'touch ${marker}; sleep 0.5'` });
  await until('the job to start', async () => existsSync(marker));
  const exited = new Promise<number | null>((resolve) => worker.process.once('exit', (code) => resolve(code)));
  const result = await cluster.cli(['shutdown', 'retiring']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(await exited, 0);
  assert.equal((await client.wait(jobId)).state, 'succeeded');
  await until('the worker to leave the list', async () => !(await client.stats()).workers.some((w) => w.id === 'retiring'));
  const unknown = await cluster.cli(['shutdown', 'nobody']);
  assert.equal(unknown.code, 4);
});
