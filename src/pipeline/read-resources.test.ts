import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePipeline } from './parse-pipeline.js';

function jobOf(yaml: string): ReturnType<typeof parsePipeline> {
  return parsePipeline(`name: p\njobs:\n  - id: a\n    command: "true"\n${yaml}`);
}

test('resources, driver, network and image are read with memory sizes in MiB', () => {
  const result = jobOf('    resources: { cpu: 0.5, memory: 1.5G, gpu: 1 }\n    driver: sandbox\n    network: none\n    image: alpine:3\n');
  assert.ok(result.ok, JSON.stringify(result));
  const job = result.pipeline.jobs[0];
  assert.deepEqual(job?.resources, { cpu: 0.5, memoryMb: 1536, gpu: 1 });
  assert.equal(job?.driver, 'sandbox');
  assert.equal(job?.network, 'none');
  assert.equal(job?.image, 'alpine:3');
  const plain = jobOf('    resources: { memory: 256 }\n');
  assert.ok(plain.ok);
  assert.deepEqual(plain.pipeline.jobs[0]?.resources, { memoryMb: 256 });
});

test('a wrong resource key, size or driver is reported at its line with the fix', () => {
  const result = jobOf('    resources:\n      memroy: 256M\n      cpu: lots\n    driver: sandbx\n');
  assert.equal(result.ok, false);
  const messages = result.ok ? [] : result.problems.map((p) => `${p.line}: ${p.message}`);
  assert.ok(
    messages.some((m) => /^6: unknown key "memroy" in resources of job "a"; did you mean "memory"\?/.test(m)),
    messages.join('\n'),
  );
  assert.ok(
    messages.some((m) => /^7: job "a": resources.cpu must be a number, not "lots"/.test(m)),
    messages.join('\n'),
  );
  assert.ok(
    messages.some((m) => /^8: .*driver must be one of process, sandbox, docker, not "sandbx"; did you mean "sandbox"\?/.test(m)),
    messages.join('\n'),
  );
  const size = jobOf('    resources: { memory: 12 parsecs }\n');
  assert.ok(!size.ok && /resources.memory: memory "12 parsecs" is not a size; write it like 256M/.test(size.problems[0]?.message ?? ''));
});
