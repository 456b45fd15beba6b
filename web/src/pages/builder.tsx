import { useState } from 'preact/hooks';
import { post } from '../api.js';
import { Graph } from '../components/graph.js';
import { Action, Card } from '../components/ui.js';
import { findCycle, newNode, problems, toYaml, type BuilderEdge, type BuilderNode } from '../builder-model.js';
import { navigate } from '../hooks.js';
import { GENERAL } from '../../../src/core/requirement.js';

const value = (e: Event): string => (e.target as HTMLInputElement).value;

/**
 * A visual pipeline builder: add nodes, draw edges (click a node, then "connect", then the
 * child), set fields, see cycles and other problems at once, export YAML, deploy.
 */
export function Builder() {
  const [name, setName] = useState('my-pipeline');
  const [nodes, setNodes] = useState<BuilderNode[]>([{ ...newNode(new Set()), id: 'extract', command: 'echo extracted' }]);
  const [edges, setEdges] = useState<BuilderEdge[]>([]);
  const [selected, setSelected] = useState<string | null>('extract');
  const [connecting, setConnecting] = useState<string | null>(null);
  const [yaml, setYaml] = useState<string | null>(null);
  const node = nodes.find((n) => n.id === selected);
  const found = problems(name, nodes, edges);
  const cycle = findCycle(nodes, edges);

  const update = (patch: Partial<BuilderNode>): void => {
    if (node === undefined) return;
    const renamed = patch.id !== undefined && patch.id !== node.id ? patch.id : null;
    setNodes(nodes.map((n) => (n === node ? { ...n, ...patch } : n)));
    if (renamed !== null) {
      setEdges(edges.map((e) => ({ from: e.from === node.id ? renamed : e.from, to: e.to === node.id ? renamed : e.to })));
      setSelected(renamed);
    }
  };
  const click = (id: string): void => {
    if (connecting !== null && connecting !== id) {
      if (!edges.some((e) => e.from === connecting && e.to === id)) setEdges([...edges, { from: connecting, to: id }]);
      setConnecting(null);
    }
    setSelected(id);
  };
  const add = (): void => {
    const fresh = newNode(new Set(nodes.map((n) => n.id)));
    setNodes([...nodes, fresh]);
    if (selected !== null) setEdges([...edges, { from: selected, to: fresh.id }]);
    setSelected(fresh.id);
  };
  const remove = (): void => {
    if (node === undefined) return;
    setNodes(nodes.filter((n) => n !== node));
    setEdges(edges.filter((e) => e.from !== node.id && e.to !== node.id));
    setSelected(null);
  };
  const inCycle = new Set(cycle ?? []);

  return (
    <div class="page">
      <h1>Pipeline builder</h1>
      <div class="filters">
        <label>
          Name <input value={name} onInput={(e) => setName(value(e))} data-testid="pipeline-name" />
        </label>
        <button onClick={add} data-testid="add-node">
          + Node{selected !== null ? ` after ${selected}` : ''}
        </button>
        <button disabled={node === undefined} onClick={() => setConnecting(node?.id ?? null)} data-testid="connect">
          {connecting !== null ? `click the child of ${connecting}…` : 'Connect from selected'}
        </button>
        <button disabled={node === undefined} onClick={remove} class="danger">
          Delete node
        </button>
      </div>
      <div class="grid2">
        <Card title="Graph">
          <div class="graph-wrap">
            <Graph
              nodes={nodes.map((n) => ({
                id: n.id,
                label: n.id,
                note: inCycle.has(n.id) ? 'in a cycle!' : n.type === 'service' ? 'service' : n.approval !== '' ? 'needs approval' : 'run',
                ...(inCycle.has(n.id) ? { state: 'failed' } : n.approval !== '' ? { gate: n.approval } : {}),
              }))}
              edges={edges}
              selected={selected}
              onNode={click}
            />
          </div>
          <h3>Edges</h3>
          <ul class="edges">
            {edges.map((e) => (
              <li key={`${e.from}>${e.to}`}>
                {e.from} → {e.to}{' '}
                <button class="link" onClick={() => setEdges(edges.filter((x) => x !== e))}>
                  remove
                </button>
              </li>
            ))}
          </ul>
        </Card>
        <Card title={node !== undefined ? `Node ${node.id}` : 'Select a node'}>
          {node === undefined ? (
            <p class="hint">Click a node in the graph.</p>
          ) : (
            <div class="form">
              <label>
                Id <input value={node.id} onChange={(e) => update({ id: value(e).trim() })} data-testid="node-id" />
              </label>
              <label>
                Command <input value={node.command} onInput={(e) => update({ command: value(e) })} data-testid="node-command" />
              </label>
              <label>
                Type
                <select value={node.type} onChange={(e) => update({ type: value(e) === 'service' ? 'service' : 'run' })}>
                  <option value="run">run</option>
                  <option value="service">service</option>
                </select>
              </label>
              {node.type === 'service' ? (
                <label>
                  Port <input value={node.port} placeholder="any free port" onInput={(e) => update({ port: value(e).trim() })} />
                </label>
              ) : null}
              <label>
                Retries <input type="number" min={0} max={100} value={node.retries} onInput={(e) => update({ retries: Math.max(0, Number(value(e)) || 0) })} />
              </label>
              <label>
                Requirement <input value={node.requirement} placeholder={GENERAL} onInput={(e) => update({ requirement: value(e) })} />
              </label>
              <label>
                Approval message <input value={node.approval} placeholder="none: runs without approval" onInput={(e) => update({ approval: value(e) })} />
              </label>
            </div>
          )}
        </Card>
      </div>
      <Card
        title="Export and deploy"
        actions={
          <>
            <button
              disabled={found.length > 0}
              title={found.length > 0 ? 'fix the problems below first' : undefined}
              onClick={() => setYaml(toYaml(name, nodes, edges))}
              data-testid="export-yaml"
            >
              Export YAML
            </button>
            <Action
              label="Deploy"
              kind="primary"
              testId="deploy"
              needs="submit"
              blockedBy={found.length > 0 ? `fix the ${found.length === 1 ? 'problem' : `${found.length} problems`} below first` : null}
              run={async () => {
                const { dagId } = await post<{ dagId: string }>('/api/v1/dags', { yaml: toYaml(name, nodes, edges) });
                navigate(`dags/${encodeURIComponent(dagId)}`);
              }}
            />
          </>
        }
      >
        {found.length > 0 ? (
          <ul class="problems" data-testid="builder-problems">
            {found.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        ) : (
          <p class="hint">No problems: ready to export or deploy.</p>
        )}
        {yaml !== null ? <textarea readOnly rows={Math.min(30, yaml.split('\n').length + 1)} data-testid="yaml-output" value={yaml} /> : null}
      </Card>
    </div>
  );
}
