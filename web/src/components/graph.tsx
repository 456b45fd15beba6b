import dagre from '@dagrejs/dagre';
import { useMemo } from 'preact/hooks';
import { STATE_COLOURS } from '../format.js';

export interface GraphNode {
  readonly id: string;
  readonly label: string;
  readonly state?: string;
  readonly note?: string;
  /** Held at an approval gate: the question it waits on. Drawn apart from a merely pending node. */
  readonly gate?: string;
}

const NODE_W = 150;
const NODE_H = 44;
/** An approval gate: amber and dashed, with a pause mark, where pending is a flat grey. */
const GATE_FILL = '#fff3c4';
const GATE_STROKE = '#cb6e17';

/** A DAG laid out by dagre (top to bottom) and drawn as SVG; nodes coloured by state and clickable. */
export function Graph({
  nodes,
  edges,
  onNode,
  onOpen,
  selected,
}: {
  nodes: readonly GraphNode[];
  edges: readonly { from: string; to: string }[];
  onNode?: (id: string) => void;
  onOpen?: (id: string) => void;
  selected?: string | null;
}) {
  const layout = useMemo(() => {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: 'TB', nodesep: 30, ranksep: 50, marginx: 10, marginy: 10 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const node of nodes) g.setNode(node.id, { width: NODE_W, height: NODE_H });
    for (const edge of edges) if (g.hasNode(edge.from) && g.hasNode(edge.to)) g.setEdge(edge.from, edge.to);
    dagre.layout(g);
    const info = g.graph();
    return {
      width: Math.max(200, info.width ?? 0),
      height: Math.max(80, info.height ?? 0),
      at: new Map(nodes.map((n) => [n.id, g.node(n.id)])),
      paths: g.edges().map((e) => ({ key: `${e.v}->${e.w}`, points: (g.edge(e).points ?? []) as { x: number; y: number }[] })),
    };
  }, [nodes.map((n) => n.id).join(','), edges.map((e) => `${e.from}>${e.to}`).join(',')]);
  return (
    <svg class="graph" viewBox={`0 0 ${layout.width} ${layout.height}`} width={layout.width} height={layout.height} data-testid="dag-graph">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" fill="#7b8794" />
        </marker>
      </defs>
      {layout.paths.map((p) => (
        <path
          key={p.key}
          d={p.points.map((pt, i) => `${i === 0 ? 'M' : 'L'} ${pt.x} ${pt.y}`).join(' ')}
          fill="none"
          stroke="#9aa5b1"
          stroke-width={1.5}
          marker-end="url(#arrow)"
        />
      ))}
      {nodes.map((node) => {
        const at = layout.at.get(node.id);
        if (at === undefined) return null;
        const gated = node.gate !== undefined;
        const fill = gated ? GATE_FILL : node.state !== undefined ? (STATE_COLOURS[node.state] ?? '#7b8794') : '#52606d';
        const stroke = selected === node.id ? '#102a43' : gated ? GATE_STROKE : 'none';
        return (
          <g
            key={node.id}
            class={gated ? 'node gated' : 'node'}
            data-node={node.id}
            data-state={node.state ?? ''}
            data-gated={gated ? 'true' : undefined}
            transform={`translate(${at.x - NODE_W / 2}, ${at.y - NODE_H / 2})`}
            onClick={() => onNode?.(node.id)}
            onDblClick={() => onOpen?.(node.id)}
          >
            {gated ? <title>{`waits for approval: ${node.gate ?? ''}`}</title> : null}
            <rect
              width={NODE_W}
              height={NODE_H}
              rx={6}
              fill={fill}
              stroke={stroke}
              stroke-width={gated && selected !== node.id ? 2 : 3}
              stroke-dasharray={gated ? '6 3' : undefined}
            />
            {gated ? <path class="gate-icon" d="M 7 6 h 3 v 11 h -3 z M 12 6 h 3 v 11 h -3 z" /> : null}
            <text x={NODE_W / 2} y={18} text-anchor="middle" class="node-label">
              {node.label.length > 20 ? `${node.label.slice(0, 19)}…` : node.label}
            </text>
            <text x={NODE_W / 2} y={34} text-anchor="middle" class="node-note">
              {node.note ?? node.state ?? ''}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
