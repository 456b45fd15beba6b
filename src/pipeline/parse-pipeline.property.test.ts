import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parsePipeline } from './parse-pipeline.js';
import type { ParseResult } from './pipeline.js';

const acceptance = fileURLToPath(new URL('../../../test/fixtures/pipelines/', import.meta.url));

interface Dag {
  readonly ids: string[];
  /** parents[i] ⊆ ids of jobs before i in topological order. */
  readonly parents: string[][];
  /** File order: a permutation of the topological order. */
  readonly order: number[];
}

const jobId = fc.stringMatching(/^[A-Za-z0-9._-]{1,16}$/);

const dag: fc.Arbitrary<Dag> = fc.uniqueArray(jobId, { minLength: 1, maxLength: 15 }).chain((ids) =>
  fc.record({
    ids: fc.constant(ids),
    parents: fc.tuple(...ids.map((_, i) => fc.subarray(ids.slice(0, i)))),
    order: fc.shuffledSubarray(
      ids.map((_, i) => i),
      { minLength: ids.length, maxLength: ids.length },
    ),
  }),
);

function assertWellFormed(result: ParseResult, text: string): void {
  if (result.ok) return;
  assert.ok(result.problems.length > 0, 'a failed parse names at least one problem');
  const lineCount = text.split('\n').length;
  for (const p of result.problems) {
    assert.ok(Number.isInteger(p.line) && p.line >= 1 && p.line <= lineCount + 1, `line ${p.line} of ${lineCount}`);
    assert.ok(Number.isInteger(p.column) && p.column >= 1, `column ${p.column}`);
    assert.ok(p.message.length > 0);
  }
}

test('a random DAG written as YAML parses back to the same ids, edges and file order', () => {
  fc.assert(
    fc.property(dag, fc.constantFrom('any', 'block', 'flow'), fc.boolean(), (g, style, aliasKey) => {
      const jobs = g.order.map((i) => {
        const parents = g.parents[i] ?? [];
        const deps = parents.length === 1 && aliasKey ? parents[0] : parents;
        return { id: g.ids[i], file: 'run.sh', [aliasKey ? 'dependencies' : 'depends_on']: deps };
      });
      const text = stringify({ name: 'random', jobs }, { collectionStyle: style as 'any' | 'block' | 'flow' });
      const result = parsePipeline(text);
      assert.ok(result.ok, result.ok ? '' : `${text}\n${result.problems.map((p) => `${p.line}: ${p.message}`).join('\n')}`);
      assert.deepEqual(
        result.pipeline.jobs.map((j) => j.id),
        g.order.map((i) => g.ids[i]),
      );
      for (const job of result.pipeline.jobs) {
        assert.deepEqual(job.dependsOn, g.parents[g.ids.indexOf(job.id)]);
      }
    }),
    { numRuns: 300 },
  );
});

const valid = [
  ...readdirSync(acceptance)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(`${acceptance}${f}`, 'utf8')),
  `name: full
version: 2
jobs:
  - id: a
    command: "train.py --lr 0.1"
    env: &e { LR: 1, MODE: prod }
    retry_backoff: { type: exponential, delay: 2, max: 60 }
    approval: { message: ok?, timeout: 60 }
    on_failure: b
  - { id: b, file: b.sh, env: *e, depends_on: a, requirement: "GPU,HIGH_MEM", port: auto }
`,
];

const fragment = fc.constantFrom(
  ':',
  '- ',
  '[',
  ']',
  '{',
  '}',
  ',',
  '"',
  "'",
  '\n',
  '  ',
  '\t',
  '#',
  '|',
  '>',
  '?',
  '%',
  '&a ',
  '*a',
  '*e',
  '!',
  '!!js/function ',
  '!x ',
  '---\n',
  '...',
  '<<: *e',
  'id: a',
  'depends_on: [a]',
  'on_failure: zz',
  ' &b',
  'jobs:',
  '- { id: a }',
  '\\',
  '\u0000',
  'é',
);

type Mutation =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicateLine'; line: number }
  | { kind: 'swapLines'; a: number; b: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fragment, fc.string({ maxLength: 4 })) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('duplicateLine' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('swapLines' as const), a: fc.nat(), b: fc.nat() }),
);

function mutate(text: string, m: Mutation): string {
  switch (m.kind) {
    case 'insert': {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + m.text + text.slice(at);
    }
    case 'delete': {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + text.slice(at + m.length);
    }
    case 'duplicateLine': {
      const lines = text.split('\n');
      const i = m.line % lines.length;
      lines.splice(i, 0, lines[i] ?? '');
      return lines.join('\n');
    }
    case 'swapLines': {
      const lines = text.split('\n');
      const a = m.a % lines.length;
      const b = m.b % lines.length;
      [lines[a], lines[b]] = [lines[b] ?? '', lines[a] ?? ''];
      return lines.join('\n');
    }
    default: {
      const never: never = m;
      return never;
    }
  }
}

test('random mutations of valid pipelines never throw: the result is a pipeline or located problems', () => {
  fc.assert(
    fc.property(fc.constantFrom(...valid), fc.array(mutation, { minLength: 1, maxLength: 6 }), (base, mutations) => {
      const text = mutations.reduce(mutate, base);
      assertWellFormed(parsePipeline(text), text);
    }),
    { numRuns: 1000 },
  );
});

test('arbitrary text never throws', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => assertWellFormed(parsePipeline(text), text)),
    { numRuns: 500 },
  );
});
