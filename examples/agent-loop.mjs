// A self-healing agent loop with the TypeScript SDK (the built package: run `npm run build` first).
//
//   TITAN_TOKEN=<token> node examples/agent-loop.mjs
//
// Submits a flaky job that fails until a flag file exists, waits for it, and on failure reads its
// logs, submits a "fix" job (which creates the flag) and retries, at most MAX_ATTEMPTS times.
// Prints `healed after N attempts` when the job finally succeeds.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TitanClient } from '../dist/src/index.js';

const MAX_ATTEMPTS = 4;
const TIMEOUT_MS = 60_000; // every wait is bounded

const scratch = mkdtempSync(join(tmpdir(), 'titan-agent-loop-'));
chmodSync(scratch, 0o1777); // the jobs write here, and a root worker runs them as titan-job
const flag = join(scratch, 'fixed');
const flaky = `if [ -e ${flag} ]; then echo 'all good'; else echo 'ERROR: flag ${flag} missing' >&2; exit 1; fi`;

async function logsOf(titan, jobId) {
  const lines = [];
  await titan.logs(jobId, (batch) => lines.push(...batch.map((l) => l.line)));
  return lines.join('\n');
}

const titan = await TitanClient.connect();
try {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const { jobId } = await titan.submit({ command: flaky });
    const { state } = await titan.wait(jobId, TIMEOUT_MS);
    console.log(`attempt ${attempt}: ${state}`);
    if (state === 'succeeded') {
      console.log(`healed after ${attempt} attempts`);
      process.exitCode = 0;
      break;
    }
    const logs = await logsOf(titan, jobId);
    console.log(`  logs: ${logs.trim()}`);
    if (logs.includes('missing')) {
      const fix = await titan.submit({ command: `touch ${flag} && echo created ${flag}` });
      console.log(`  fix job: ${(await titan.wait(fix.jobId, TIMEOUT_MS)).state}`);
    }
    if (attempt === MAX_ATTEMPTS) {
      console.error(`not healed after ${MAX_ATTEMPTS} attempts`);
      process.exitCode = 1;
    }
  }
} finally {
  titan.close();
  rmSync(scratch, { recursive: true, force: true });
}
