import { fileURLToPath } from 'node:url';
import type { TitanClient } from '../sdk/client.js';
import { describeOutcome } from './format.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

/** A short tour: a script's output, a fan-out across workers, a retried flaky job. True when all succeeded. */
export async function runDemo(client: TitanClient, print: (line: string) => void): Promise<boolean> {
  let ok = true;
  const show = async (label: string, jobId: string): Promise<void> => {
    const job = await client.wait(jobId);
    const lines: string[] = [];
    await client.logs(jobId, (batch) => lines.push(...batch.map((l) => l.line)));
    print(`[${label}] ${describeOutcome(job)} on ${job.workerId ?? '?'}`);
    for (const line of lines) print(`    ${line}`);
    ok &&= job.state === 'succeeded';
  };

  print('demo 1/3: a Python script, uploaded and run on a worker');
  await show('hello', (await client.submit({ file: `${EXAMPLES}hello.py`, name: 'hello' })).jobId);

  print('demo 2/3: eight jobs fanned out over the workers, least-loaded first');
  const { jobIds } = await client.submitMany(
    Array.from({ length: 8 }, (_, i) => ({ command: `sh -c 'sleep 0.3; echo part ${i + 1} done'`, name: `part-${i + 1}` })),
  );
  for (const [i, id] of jobIds.entries()) await show(`part-${i + 1}`, id);

  print('demo 3/3: a flaky script with retries: 1 fails, attempt 2 succeeds');
  await show('flaky', (await client.submit({ file: `${EXAMPLES}flaky.sh`, name: 'flaky', retries: 2 })).jobId);

  print(ok ? 'demo finished: every job succeeded' : 'demo finished with failures (see above)');
  return ok;
}
