/** The pipeline builder's model: nodes, edges, checks and the YAML `titan dag` reads. Pure. */
import { findCycles } from '../../src/common/cycles.js';

export interface BuilderNode {
  id: string;
  command: string;
  type: 'run' | 'service';
  /** Services: a port number, or '' for one the worker picks. */
  port: string;
  retries: number;
  requirement: string;
  /** Non-empty: the node waits for approval with this message. */
  approval: string;
}

export interface BuilderEdge {
  readonly from: string;
  readonly to: string;
}

export const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

export function newNode(taken: ReadonlySet<string>): BuilderNode {
  let n = taken.size + 1;
  while (taken.has(`step${n}`)) n++;
  return { id: `step${n}`, command: 'echo hello', type: 'run', port: '', retries: 0, requirement: '', approval: '' };
}

/** A cycle as a path of ids along the edges (first = last), or null. */
export function findCycle(nodes: readonly BuilderNode[], edges: readonly BuilderEdge[]): string[] | null {
  const children = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  for (const e of edges) children.get(e.from)?.push(e.to);
  const [cycle] = findCycles(
    nodes.map((n) => n.id),
    (id) => children.get(id) ?? [],
  );
  return cycle ?? null;
}

/** Everything that would make `titan dag` refuse the pipeline, in words a person can act on. */
export function problems(name: string, nodes: readonly BuilderNode[], edges: readonly BuilderEdge[]): string[] {
  const out: string[] = [];
  if (name.trim() === '') out.push('the pipeline needs a name');
  if (nodes.length === 0) out.push('add at least one node');
  const seen = new Set<string>();
  for (const node of nodes) {
    if (!ID_PATTERN.test(node.id)) out.push(`node id "${node.id}" must be 1-128 letters, digits, dot, dash or underscore`);
    if (seen.has(node.id)) out.push(`two nodes are called "${node.id}"; ids must be unique`);
    seen.add(node.id);
    if (node.command.trim() === '') out.push(`node ${node.id} has no command`);
    if (node.type === 'service' && node.port !== '' && !/^\d{1,5}$/.test(node.port))
      out.push(`node ${node.id}: port must be a number (or empty for any free port)`);
  }
  const cycle = findCycle(nodes, edges);
  if (cycle !== null) out.push(`cycle: ${cycle.join(' → ')}; remove one of its edges`);
  return out;
}

const str = (s: string): string => JSON.stringify(s);

/** The pipeline as YAML (strings JSON-quoted, which YAML reads as double-quoted scalars). */
export function toYaml(name: string, nodes: readonly BuilderNode[], edges: readonly BuilderEdge[]): string {
  const lines = [`name: ${str(name)}`, 'jobs:'];
  for (const node of nodes) {
    lines.push(`  - id: ${str(node.id)}`);
    lines.push(`    command: ${str(node.command)}`);
    const parents = edges.filter((e) => e.to === node.id).map((e) => str(e.from));
    if (parents.length > 0) lines.push(`    depends_on: [${parents.join(', ')}]`);
    if (node.type === 'service') {
      lines.push('    type: service');
      lines.push(`    port: ${node.port === '' ? 'auto' : node.port}`);
    }
    if (node.retries > 0) lines.push(`    retries: ${node.retries}`);
    if (node.requirement.trim() !== '') lines.push(`    requirement: ${str(node.requirement.trim())}`);
    if (node.approval.trim() !== '') lines.push(`    approval: { message: ${str(node.approval.trim())} }`);
  }
  return `${lines.join('\n')}\n`;
}
