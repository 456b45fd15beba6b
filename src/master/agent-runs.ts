import { TitanError, ErrorCode } from '../common/errors.js';
import type { DagStatusView, DagView } from '../protocol/views.js';
import { dagStatus, toDagView } from './dag-handlers.js';
import type { Master } from './master.js';

/** Agent runs are KV sets of DAG ids; the DAGs are read from the core or the store. */
export type AgentRunHost = Pick<Master, 'reads' | 'kv'>;

/** The SDKs' convention: submit_dag(…, agent_run_id=X) adds the DAG id to this KV set. */
export const AGENT_RUN_PREFIX = 'titan:agent-run:';

export interface AgentRunView {
  readonly agentRunId: string;
  readonly dags: number;
  readonly startedAt: number | null;
  /** When its last DAG finished; null while one runs. */
  readonly finishedAt: number | null;
  readonly state: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'unknown';
  readonly failedDags: number;
}

/** Whether the caller may see a DAG id (its namespace); everyone sees every id without one. */
export type SeesId = (id: string) => boolean;

async function dagsOf(master: AgentRunHost, agentRunId: string, sees: SeesId): Promise<DagView[]> {
  const ids = (await master.kv.kvSmembers(`${AGENT_RUN_PREFIX}${agentRunId}`, Date.now())).filter(sees);
  const stored = await Promise.all(ids.map((id) => (master.reads.dag(id) !== undefined ? undefined : master.reads.getDag(id))));
  return ids.flatMap((id, i) => {
    const dag = master.reads.dag(id) ?? stored[i];
    return dag === undefined ? [] : [toDagView(dag)];
  });
}

function summarise(agentRunId: string, dags: readonly DagView[]): AgentRunView {
  const running = dags.some((d) => d.state === 'running');
  const failed = dags.filter((d) => d.state === 'failed').length;
  const state =
    dags.length === 0 ? 'unknown' : running ? 'running' : failed > 0 ? 'failed' : dags.every((d) => d.state === 'cancelled') ? 'cancelled' : 'succeeded';
  return {
    agentRunId,
    dags: dags.length,
    startedAt: dags.length === 0 ? null : Math.min(...dags.map((d) => d.createdAt)),
    finishedAt: running || dags.length === 0 ? null : Math.max(...dags.map((d) => d.finishedAt ?? d.createdAt)),
    state,
    failedDags: failed,
  };
}

/**
 * Agent runs, newest first: the DAGs an agent submitted under one agent_run_id, as one run.
 * Only the DAGs the caller may see count; a run with none of them is not listed.
 */
export async function listAgentRuns(master: AgentRunHost, limit: number, sees: SeesId): Promise<AgentRunView[]> {
  const ids = (await master.kv.kvKeys(AGENT_RUN_PREFIX, 10_000, Date.now())).map((key) => key.slice(AGENT_RUN_PREFIX.length));
  const dagsOfEach = await Promise.all(ids.map((id) => dagsOf(master, id, sees)));
  return ids
    .flatMap((id, i) => {
      const dags = dagsOfEach[i] ?? [];
      return dags.length === 0 ? [] : [summarise(id, dags)];
    })
    .sort((a, b) => (b.startedAt ?? 0) - (a.startedAt ?? 0))
    .slice(0, limit);
}

/** One agent run with every DAG's jobs, oldest DAG first: the data of its timeline. */
export async function agentRun(master: AgentRunHost, agentRunId: string, sees: SeesId): Promise<AgentRunView & { readonly runs: DagStatusView[] }> {
  const dags = await dagsOf(master, agentRunId, sees);
  if (dags.length === 0)
    throw new TitanError(
      ErrorCode.UNKNOWN_JOB,
      `no agent run ${agentRunId}: DAGs join one when submitted with agent_run_id (Python SDK submit_dag / submit_yaml)`,
    );
  const runs = await Promise.all([...dags].sort((a, b) => a.createdAt - b.createdAt).map((d) => dagStatus(master, d.id)));
  return { ...summarise(agentRunId, dags), runs };
}
