/**
 * The dependency cycles of a graph: one per strongly connected component that has one, each a
 * shortest path that starts and ends at the same node, `[a, b, c, a]`, where each node depends
 * on the next. A path starts at the component's node listed first in `nodes`, so the caller
 * decides which node names a cycle; nodes reachable through `parentsOf` but not listed come last.
 * Iterative (Tarjan), so a long chain cannot overflow the stack.
 */
export function findCycles(nodes: readonly string[], parentsOf: (id: string) => readonly string[]): string[][] {
  const order = new Map<string, number>();
  nodes.forEach((id, i) => {
    if (!order.has(id)) order.set(id, i);
  });
  const rank = (id: string): number => order.get(id) ?? Infinity;

  const components = stronglyConnected(nodes, parentsOf);
  const cycles: string[][] = [];
  for (const component of components) {
    const first = component[0];
    if (first === undefined) continue;
    if (component.length === 1 && !parentsOf(first).includes(first)) continue;
    let start = first;
    for (const id of component) if (rank(id) < rank(start)) start = id;
    cycles.push(shortestCycle(start, new Set(component), parentsOf));
  }
  return cycles.sort((a, b) => rank(a[0] ?? '') - rank(b[0] ?? ''));
}

interface Frame {
  readonly id: string;
  readonly parents: readonly string[];
  next: number;
}

function stronglyConnected(nodes: readonly string[], parentsOf: (id: string) => readonly string[]): string[][] {
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
      work.push({ id, parents: parentsOf(id), next: 0 });
    };
    enter(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      if (frame === undefined) break;
      const parent = frame.parents[frame.next];
      if (parent !== undefined) {
        frame.next++;
        if (!index.has(parent)) enter(parent);
        else if (onStack.has(parent)) low.set(frame.id, Math.min(low.get(frame.id) ?? 0, index.get(parent) ?? 0));
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

function shortestCycle(start: string, within: ReadonlySet<string>, parentsOf: (id: string) => readonly string[]): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const current = queue[head];
    if (current === undefined) break;
    for (const parent of parentsOf(current)) {
      if (parent === start) {
        const chain: string[] = [];
        for (let at: string | undefined = current; at !== undefined && at !== start; at = previous.get(at)) chain.unshift(at);
        return [start, ...chain, start];
      }
      if (within.has(parent) && !previous.has(parent)) {
        previous.set(parent, current);
        queue.push(parent);
      }
    }
  }
  return [start, start]; // unreachable for a real component; keeps the type total
}
