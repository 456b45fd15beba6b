import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePipeline } from '../src/pipeline/parse-pipeline.js';
import { findCycle, newNode, problems, toYaml, type BuilderEdge, type BuilderNode } from '../web/src/builder-model.js';

const node = (id: string, over: Partial<BuilderNode> = {}): BuilderNode => ({ ...newNode(new Set()), id, ...over });

/** Graphs of 2-8 nodes with any edges between distinct nodes (cycles included). */
const edgeBetween = (n: number): fc.Arbitrary<[number, number]> =>
  fc.tuple(fc.nat(n - 1), fc.nat(n - 2)).map(([a, k]): [number, number] => [a, (a + 1 + k) % n]);
const graphs = fc
  .integer({ min: 2, max: 8 })
  .chain((n) => fc.tuple(fc.constant(n), fc.uniqueArray(edgeBetween(n), { maxLength: 16, selector: ([a, b]) => `${a}>${b}` })))
  .map(([n, pairs]) => ({
    nodes: Array.from({ length: n }, (_, i) => node(`n${i}`, { command: `echo "node ${i}" 'quoted'` })),
    edges: pairs.map(([a, b]): BuilderEdge => ({ from: `n${a}`, to: `n${b}` })),
  }));

describe('the pipeline builder model (web/src/builder-model.ts)', () => {
  test('its YAML is what the pipeline parser accepts, with the same edges, whenever it finds no cycle', () => {
    fc.assert(
      fc.property(graphs, ({ nodes, edges }) => {
        const cycle = findCycle(nodes, edges);
        const parsed = parsePipeline(toYaml('built', nodes, edges));
        if (cycle !== null) {
          assert.equal(parsed.ok, false, 'the parser refuses what the builder calls a cycle');
          return;
        }
        assert.ok(parsed.ok, JSON.stringify(parsed));
        for (const job of parsed.pipeline.jobs) {
          assert.deepEqual(
            [...job.dependsOn].sort(),
            edges
              .filter((e) => e.to === job.id)
              .map((e) => e.from)
              .sort(),
          );
          assert.equal(job.command, `echo "node ${job.id.slice(1)}" 'quoted'`);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('a cycle is reported as a path that starts and ends on the same node, along real edges', () => {
    const nodes = ['a', 'b', 'c', 'd'].map((id) => node(id));
    const edges = [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'c', to: 'd' },
      { from: 'd', to: 'b' },
    ];
    const cycle = findCycle(nodes, edges);
    assert.deepEqual(cycle, ['b', 'c', 'd', 'b']);
    assert.match(problems('p', nodes, edges).join('\n'), /cycle: b → c → d → b; remove one of its edges/);
  });

  test('services, retries, requirements and approvals are written as the pipeline schema spells them', () => {
    const nodes = [
      node('web', { type: 'service', port: '', command: 'python3 -m http.server $PORT' }),
      node('check', { retries: 2, requirement: 'GPU', approval: 'go?' }),
    ];
    const parsed = parsePipeline(toYaml('svc', nodes, [{ from: 'web', to: 'check' }]));
    assert.ok(parsed.ok, JSON.stringify(parsed));
    const [web, check] = parsed.pipeline.jobs;
    assert.deepEqual([web?.type, web?.port], ['service', 'auto']);
    assert.deepEqual([check?.retries, check?.requirement, check?.approval?.message], [2, ['GPU'], 'go?']);
  });

  test('bad ids, duplicate ids, empty commands and bad ports are named before export', () => {
    const found = problems('', [node('a b'), node('x', { command: ' ' }), node('x'), node('s', { type: 'service', port: 'eighty' })], []);
    assert.deepEqual(found.length, 5, found.join('\n'));
    assert.match(found.join('\n'), /needs a name/);
    assert.match(found.join('\n'), /"a b" must be/);
    assert.match(found.join('\n'), /two nodes are called "x"/);
    assert.match(found.join('\n'), /node x has no command/);
    assert.match(found.join('\n'), /port must be a number/);
  });
});
