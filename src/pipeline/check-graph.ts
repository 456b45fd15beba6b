import { findCycles } from '../common/cycles.js';
import { nearest } from './levenshtein.js';
import { hitlGateId, type ParseOptions } from './pipeline.js';
import type { JobDraft } from './read-job.js';
import type { YamlReader } from './yaml-reader.js';

const LISTED_IDS = 20;

/**
 * The checks that span jobs: unique ids, parents and on_failure targets that exist, and no
 * dependency cycle (through the running DAG's edges too, when jobs are added to one).
 */
export function checkGraph(r: YamlReader, drafts: readonly JobDraft[], options: ParseOptions): void {
  const existing = options.existingJobIds ?? new Set<string>();
  const byId = new Map<string, JobDraft>();
  for (const draft of drafts) {
    if (!draft.hasId) continue;
    const { id, line } = draft.job;
    const first = byId.get(id);
    if (first !== undefined) {
      r.report(draft.idNode, `job id "${id}" is used on lines ${first.job.line} and ${line}; job ids must be unique, rename one`);
    } else {
      byId.set(id, draft);
      if (existing.has(id)) r.report(draft.idNode, `job id "${id}" already exists in the running DAG; choose another id`);
    }
  }
  for (const draft of drafts) {
    if (!draft.hasId || draft.job.hitl === null) continue;
    const gate = hitlGateId(draft.job.id);
    const taken = byId.get(gate);
    if (taken !== undefined || existing.has(gate)) {
      const where = taken !== undefined ? `the job on line ${taken.job.line}` : 'a job of the running DAG';
      r.report(draft.idNode, `job "${draft.job.id}" has hitl_message, so its approval gate is named "${gate}", which is already ${where}; rename that job`);
    }
  }
  const defined = [...byId.keys()];
  const known = (id: string): boolean => byId.has(id) || existing.has(id);

  for (const draft of drafts) {
    const name = draft.hasId ? `job "${draft.job.id}"` : `job at line ${draft.job.line}`;
    const seen = new Set<string>();
    for (const parent of draft.parents) {
      if (seen.has(parent.text)) {
        r.report(parent.node, `${name} lists "${parent.text}" more than once in depends_on; remove the repeat`);
        continue;
      }
      seen.add(parent.text);
      if (!known(parent.text)) {
        const scope = existing.size > 0 ? ' in this file or the running DAG' : '';
        r.report(parent.node, `${name} depends on "${parent.text}", which is not defined${scope} (${listIds(defined, parent.text, existing)})`);
      }
    }
    const target = draft.onFailure;
    if (target !== null && !byId.has(target.text) && target.text !== draft.job.id) {
      r.report(target.node, `${name} has on_failure "${target.text}", which is not a job of this pipeline (${listIds(defined, target.text)})`);
    }
  }

  const nodes = [...defined, ...existing];
  const parentsOf = (id: string): readonly string[] => {
    const own = byId.get(id)?.job.dependsOn.filter(known) ?? [];
    const old = options.existingEdges?.get(id) ?? [];
    return old.length === 0 ? own : [...own, ...old];
  };
  for (const cycle of findCycles(nodes, parentsOf)) {
    const [start, next] = cycle;
    const draft = start === undefined ? undefined : byId.get(start);
    if (draft === undefined) continue; // a cycle inside the running DAG alone is not this file's doing
    const at = draft.parents.find((p) => p.text === next)?.node ?? draft.idNode;
    const message =
      cycle.length === 2
        ? `job "${start}" depends on itself; remove "${start}" from its depends_on`
        : `jobs depend on each other in a cycle: ${cycle.join(' → ')} (each depends on the next); remove one of these dependencies`;
    r.report(at, message);
  }
}

/** `defined: a, b, c` (capped), with a "did you mean" when one is a near miss of `wanted`. */
function listIds(defined: readonly string[], wanted: string, existing: ReadonlySet<string> = new Set()): string {
  const shown = defined.slice(0, LISTED_IDS).join(', ');
  const more = defined.length > LISTED_IDS ? `, … ${defined.length - LISTED_IDS} more` : '';
  const guess = nearest(wanted, [...defined, ...existing]);
  const hint = guess === undefined ? '' : `; did you mean "${guess}"?`;
  return `defined: ${shown === '' ? 'none' : shown}${more}${hint}`;
}
