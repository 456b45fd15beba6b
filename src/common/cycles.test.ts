import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCycles } from './cycles.js';

const graph =
  (edges: Record<string, string[]>) =>
  (id: string): readonly string[] =>
    edges[id] ?? [];

test('a DAG has no cycles', () => {
  assert.deepEqual(findCycles(['a', 'b', 'c'], graph({ b: ['a'], c: ['a', 'b'] })), []);
});

test('each cycle is reported once, starting at the node listed first, shortest way round', () => {
  const edges = graph({ a: ['b'], b: ['c', 'a'], c: ['a'], x: ['x'], y: ['z'], z: ['y'] });
  assert.deepEqual(findCycles(['y', 'a', 'b', 'c', 'x', 'z'], edges), [
    ['y', 'z', 'y'],
    ['a', 'b', 'a'],
    ['x', 'x'],
  ]);
});

test('a long chain does not overflow the stack', () => {
  const n = 100_000;
  const edgesOf = (id: string): readonly string[] => (id === '0' ? [String(n - 1)] : [String(Number(id) - 1)]);
  const nodes = Array.from({ length: n }, (_, i) => String(i));
  const [cycle] = findCycles(nodes, edgesOf);
  assert.equal(cycle?.length, n + 1);
  assert.equal(cycle?.[0], '0');
  assert.equal(cycle?.[1], String(n - 1));
});
