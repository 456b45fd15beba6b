import { fileURLToPath } from 'node:url';
import type { TitanClient } from '../sdk/client.js';
import { describeOutcome } from './format.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

async function outputOf(client: TitanClient, jobId: string): Promise<string[]> {
  const lines: string[] = [];
  await client.logs(jobId, (batch) => lines.push(...batch.map((l) => l.line)));
  return lines;
}

/** A short tour: a script's output, a fan-out across workers, a retried flaky job, a pipeline. True when all succeeded. */
export async function runDemo(client: TitanClient, print: (line: string) => void): Promise<boolean> {
  let ok = true;
  const show = async (label: string, jobId: string): Promise<void> => {
    const job = await client.wait(jobId);
    const lines = await outputOf(client, jobId);
    print(`[${label}] ${describeOutcome(job)} on ${job.workerId ?? '?'}`);
    for (const line of lines) print(`    ${line}`);
    ok &&= job.state === 'succeeded';
  };

  print('demo 1/4: a Python script, uploaded and run on a worker');
  await show('hello', (await client.submit({ file: `${EXAMPLES}hello.py`, name: 'hello' })).jobId);

  print('demo 2/4: eight jobs fanned out over the workers, least-loaded first');
  const { jobIds } = await client.submitMany(
    Array.from({ length: 8 }, (_, i) => ({ command: `sh -c 'sleep 0.3; echo part ${i + 1} done'`, name: `part-${i + 1}` })),
  );
  for (const [i, id] of jobIds.entries()) await show(`part-${i + 1}`, id);

  print('demo 3/4: a flaky script with retries: 1 fails, attempt 2 succeeds');
  await show('flaky', (await client.submit({ file: `${EXAMPLES}flaky.sh`, name: 'flaky', retries: 2 })).jobId);

  print('demo 4/4: a YAML pipeline (examples/demo-pipeline.yaml): a diamond passing data through its shared folder');
  const { dagId } = await client.submitPipeline(`${EXAMPLES}demo-pipeline.yaml`);
  const final = await client.waitDag(dagId);
  print(`[pipeline] DAG ${dagId} ${final.dag.state}: ${final.jobs.map((j) => `${j.key}=${j.state}`).join(' ')}`);
  for (const line of await outputOf(client, `${dagId}.report`)) print(`    ${line}`);
  ok &&= final.dag.state === 'succeeded';

  print(ok ? 'demo finished: every job succeeded' : 'demo finished with failures (see above)');
  return ok;
}
