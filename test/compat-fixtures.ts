import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { ApprovalView } from '../src/protocol/views.js';
import { type Cluster, until } from './harness.js';

/** Pipelines in the original Titan's schema, with their scripts (test/fixtures/original-titan/). */
export const ORIGINAL_FIXTURES = fileURLToPath(new URL('../../test/fixtures/original-titan/', import.meta.url));

/** `titan dag <file> --json` without waiting: the DAG id and its job ids. */
export async function submitOriginal(cluster: Cluster, file: string): Promise<{ dagId: string; jobIds: string[] }> {
  const out = await cluster.cli(['dag', `${ORIGINAL_FIXTURES}${file}`, '--json']);
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout) as { dagId: string; jobIds: string[] };
}

/**
 * `titan approvals --json`, until `ref` is among them. A KV gate is listed once its status reads
 * WAITING, a request before the script writes its time: it is awaited until that is there too.
 */
export function awaitListed(cluster: Cluster, ref: string): Promise<ApprovalView> {
  return until(
    `${ref} to wait for a decision in titan approvals`,
    async () => {
      const out = await cluster.cli(['approvals', '--json']);
      assert.equal(out.code, 0, out.stderr);
      return (JSON.parse(out.stdout) as ApprovalView[]).find((a) => a.ref === ref && (a.kind !== 'kv-gate' || a.since !== null));
    },
    30_000,
  );
}
