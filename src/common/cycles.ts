/**
 * The cycles of a directed graph: one per strongly connected component that has one, each a
 * shortest path that starts and ends at the same node, `[a, b, c, a]`, where each node points at
 * the next through `edgesOf` (in a dependency graph where `edgesOf` gives a job's parents: each
 * depends on the next). A path starts at the component's node listed first in `nodes`, so the
 * caller decides which node names a cycle; nodes reachable through `edgesOf` but not listed come
 * last. Iterative (Tarjan), so a long chain cannot overflow the stack. Pure: the pipeline parser,
 * the master's DAG submission, the protocol v1 gate and the dashboard's builder all use it.
 */
export function findCycles(nodes: readonly string[], edgesOf: (id: string) => readonly string[]): string[][] {
  const order = new Map<string, number>();
  nodes.forEach((id, i) => {
    if (!order.has(id)) order.set(id, i);
  });
  const rank = (id: string): number => order.get(id) ?? Infinity;

  const components = stronglyConnected(nodes, edgesOf);
  const cycles: string[][] = [];
  for (const component of components) {
    const first = component[0];
    if (first === undefined) continue;
    if (component.length === 1 && !edgesOf(first).includes(first)) continue;
    let start = first;
    for (const id of component) if (rank(id) < rank(start)) start = id;
    cycles.push(shortestCycle(start, new Set(component), edgesOf));
  }
  return cycles.sort((a, b) => rank(a[0] ?? '') - rank(b[0] ?? ''));
}

interface Frame {
  readonly id: string;
  readonly targets: readonly string[];
  next: number;
}

function stronglyConnected(nodes: readonly string[], edgesOf: (id: string) => readonly string[]): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;

  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: Frame[] = [];
    const enter = (id: string): void => {
      index.set(id, counter);
      low.set(id, counter);
      counter++;
      stack.push(id);
      onStack.add(id);
      work.push({ id, targets: edgesOf(id), next: 0 });
    };
    enter(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      if (frame === undefined) break;
      const target = frame.targets[frame.next];
      if (target !== undefined) {
        frame.next++;
        if (!index.has(target)) enter(target);
        else if (onStack.has(target)) low.set(frame.id, Math.min(low.get(frame.id) ?? 0, index.get(target) ?? 0));
        continue;
      }
      work.pop();
      const caller = work[work.length - 1];
      const lowHere = low.get(frame.id) ?? 0;
      if (caller !== undefined) low.set(caller.id, Math.min(low.get(caller.id) ?? 0, lowHere));
      if (lowHere === index.get(frame.id)) {
        const component: string[] = [];
        for (;;) {
          const member = stack.pop();
          if (member === undefined) break;
          onStack.delete(member);
          component.push(member);
          if (member === frame.id) break;
        }
        components.push(component);
      }
    }
  }
  return components;
}

function shortestCycle(start: string, within: ReadonlySet<string>, edgesOf: (id: string) => readonly string[]): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const current = queue[head];
    if (current === undefined) break;
    for (const target of edgesOf(current)) {
      if (target === start) {
        const chain: string[] = [];
        for (let at: string | undefined = current; at !== undefined && at !== start; at = previous.get(at)) chain.unshift(at);
        return [start, ...chain, start];
      }
      if (within.has(target) && !previous.has(target)) {
        previous.set(target, current);
        queue.push(target);
      }
    }
  }
  return [start, start]; // unreachable for a real component; keeps the type total
}
