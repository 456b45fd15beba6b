import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TitanError } from '../../common/errors.js';
import { parseLegacyDag, parseLegacyJob } from './payload.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const SCRIPT = b64('print("hi")\n');

function refused(payload: string, pattern: RegExp): void {
  assert.throws(
    () => parseLegacyDag(payload),
    (err: unknown) => err instanceof TitanError && err.code === 'E_INVALID_REQUEST' && pattern.test(err.message),
    `expected ${String(pattern)}`,
  );
}

test('a RUN_PAYLOAD job carries its file, args, script bytes, requirement, priority, delay and parents', () => {
  const job = parseLegacyJob(`step2|RUN_PAYLOAD|calc.py|--n 3  --fast|${SCRIPT}|GPU|10|1500|[step1, DAG-step0]`);
  assert.equal(job.id, 'step2');
  assert.equal(job.kind, 'RUN_PAYLOAD');
  assert.equal(job.file, 'calc.py');
  assert.deepEqual(job.args, ['--n', '3', '--fast']);
  assert.equal(job.script?.toString(), 'print("hi")\n');
  assert.deepEqual(job.requirement, ['GPU']);
  assert.equal(job.priority, 10);
  assert.equal(job.delayMs, 1500);
  assert.deepEqual(job.parents, ['step1', 'step0'], 'DAG- prefixes are dropped from parents');
  assert.equal(job.affinity, false);
  assert.equal(job.archive, null);
  assert.equal(job.port, null);
});

test('an empty parent list is [] and empty args are no args', () => {
  const job = parseLegacyJob(`A|RUN_PAYLOAD|a.sh||${b64('echo a')}|GENERAL|1|0|[]`);
  assert.deepEqual(job.parents, []);
  assert.deepEqual(job.args, []);
});

test('a trailing |AFFINITY (or the original STICKY) asks to run where the parent ran', () => {
  assert.equal(parseLegacyJob(`B|RUN_PAYLOAD|b.py|x|${SCRIPT}|GENERAL|1|0|[A]|AFFINITY`).affinity, true);
  assert.equal(parseLegacyJob(`B|RUN_PAYLOAD|b.py|x|${SCRIPT}|GENERAL|1|0|[A]|STICKY`).affinity, true);
});

test('an ID given with the DAG- prefix is the same job as without it', () => {
  assert.equal(parseLegacyJob(`DAG-A|RUN_PAYLOAD|a.py||${SCRIPT}|GENERAL|1|0|[]`).id, 'A');
});

test('a DEPLOY_PAYLOAD job carries its script and port', () => {
  const job = parseLegacyJob(`svc|DEPLOY_PAYLOAD|server.py|${SCRIPT}|8080|GENERAL|2|0|[]`);
  assert.equal(job.kind, 'DEPLOY_PAYLOAD');
  assert.equal(job.file, 'server.py');
  assert.equal(job.port, 8080);
  assert.equal(job.script?.toString(), 'print("hi")\n');
  assert.deepEqual(job.args, []);
});

test('a RUN_ARCHIVE job names the uploaded archive and the entry to run', () => {
  const job = parseLegacyJob('etl|RUN_ARCHIVE|project.zip/src/main.py|a b|GENERAL|1|0|[]');
  assert.equal(job.kind, 'RUN_ARCHIVE');
  assert.deepEqual(job.archive, { name: 'project.zip', entry: 'src/main.py' });
  assert.deepEqual(job.args, ['a', 'b']);
  assert.equal(job.script, null);
});

test('a START_ARCHIVE_SERVICE job names its archive, entry, args and port', () => {
  const job = parseLegacyJob('api|START_ARCHIVE_SERVICE|web.zip/app.py|--debug|9000|HIGH_MEM|1|0|[etl]|AFFINITY');
  assert.equal(job.kind, 'START_ARCHIVE_SERVICE');
  assert.deepEqual(job.archive, { name: 'web.zip', entry: 'app.py' });
  assert.equal(job.port, 9000);
  assert.deepEqual(job.requirement, ['HIGH_MEM']);
  assert.deepEqual(job.parents, ['etl']);
  assert.equal(job.affinity, true);
});

test('a DAG is its jobs joined by " ; ", in order; a single job is a DAG of one', () => {
  const dag = parseLegacyDag(
    [
      `A|RUN_PAYLOAD|a.py||${SCRIPT}|GENERAL|1|0|[]`,
      `B|RUN_PAYLOAD|b.py|x;y|${SCRIPT}|GENERAL|1|0|[A]|AFFINITY`,
      `C|RUN_PAYLOAD|c.py||${SCRIPT}|GENERAL|1|0|[A,B]`,
    ].join(' ; '),
  );
  assert.deepEqual(
    dag.map((j) => j.id),
    ['A', 'B', 'C'],
  );
  assert.deepEqual(dag[1]?.args, ['x;y'], 'a ";" inside args does not split jobs');
  assert.equal(parseLegacyDag(`A|RUN_PAYLOAD|a.py||${SCRIPT}|GENERAL|1|0|[]`).length, 1);
  assert.equal(parseLegacyDag(`A|RUN_PAYLOAD|a.py||${SCRIPT}|GENERAL|1|0|[];B|RUN_PAYLOAD|b.py||${SCRIPT}|GENERAL|1|0|[A];`).length, 2);
});

test('malformed jobs are refused with a message naming the job and the expected form', () => {
  refused('', /holds no job/);
  refused(`A|RUN_SCRIPT|a.py||${SCRIPT}|GENERAL|1|0|[]`, /job 1 \(A\): the second field must be one of RUN_PAYLOAD/);
  refused(`A|RUN_PAYLOAD|a.py|x|y|${SCRIPT}|GENERAL|1|0|[]`, /RUN_PAYLOAD takes 9 fields .* got 10; a "\|" inside args/);
  refused(`A|RUN_PAYLOAD|a.py||not base64!|GENERAL|1|0|[]`, /the script is not valid base64/);
  refused(`A|RUN_PAYLOAD|a.py||${SCRIPT}|GENERAL|high|0|[]`, /PRIORITY must be an integer -1000\.\.1000, got "high"/);
  refused(`A|RUN_PAYLOAD|a.py||${SCRIPT}|GENERAL|1|-5|[]`, /DELAY_MS must be an integer/);
  refused(`A|RUN_PAYLOAD|a.py||${SCRIPT}|GENERAL|1|0|B`, /the last field must be the parent list, like \[\]/);
  refused(`A|RUN_PAYLOAD|../a.py||${SCRIPT}|GENERAL|1|0|[]`, /must be a plain file name/);
  refused(`A|RUN_PAYLOAD|a.py||${SCRIPT}|GP U|1|0|[]`, /requirement "GP U" must be a tag/);
  refused(`A b|RUN_PAYLOAD|a.py||${SCRIPT}|GENERAL|1|0|[]`, /ID "A b" must be 1-100 letters/);
  refused(`A|DEPLOY_PAYLOAD|s.py|${SCRIPT}|http|GENERAL|1|0|[]`, /PORT must be an integer 0\.\.65535/);
  refused('A|RUN_ARCHIVE|project.tar/main.py||GENERAL|1|0|[]', /like project\.zip\/main\.py/);
  refused('A|RUN_ARCHIVE|project.zip/../x.py||GENERAL|1|0|[]', /like project\.zip\/main\.py/);
});

test('duplicate IDs and parents outside the submission are refused', () => {
  const a = `A|RUN_PAYLOAD|a.py||${SCRIPT}|GENERAL|1|0|[]`;
  refused(`${a} ; ${a}`, /two jobs share the ID A/);
  refused(`${a} ; B|RUN_PAYLOAD|b.py||${SCRIPT}|GENERAL|1|0|[Z]`, /job B depends on Z, which is not in this submission \(defined: A, B\)/);
});

test('a cycle is refused, naming it as a path', () => {
  refused(
    [`A|RUN_PAYLOAD|a.py||${SCRIPT}|GENERAL|1|0|[C]`, `B|RUN_PAYLOAD|b.py||${SCRIPT}|GENERAL|1|0|[A]`, `C|RUN_PAYLOAD|c.py||${SCRIPT}|GENERAL|1|0|[B]`].join(
      ' ; ',
    ),
    /the jobs form a cycle \(A -> C -> B -> A, each waiting for the next\)/,
  );
  refused(`A|RUN_PAYLOAD|a.py||${SCRIPT}|GENERAL|1|0|[A]`, /cycle \(A -> A/);
});
