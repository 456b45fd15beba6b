import type { LegacyNames } from '../job-ports.js';

/**
 * The names legacy clients know jobs by (`DAG-<ID>`, `TSK-<id>`), each pointing at the Titan job
 * id of its latest submission. Kept in the store's meta table, so status, logs and cancel by
 * name work after a restart; submitting the same ID again moves the name to the new job.
 */
const PREFIX = 'legacy-name:';

/** The slice of the store v1 names live in (its meta table), and the jobs a bare id may name. */
export type LegacyNameBook = LegacyNames;

export function recordLegacyName(store: LegacyNameBook, name: string, jobId: string): Promise<void> {
  return store.setMeta(PREFIX + name, jobId);
}

/**
 * The Titan job id a legacy client means: its name as recorded, the same with `DAG-` added
 * (clients that drop the prefix), else the text itself when it is a Titan job id.
 */
export async function resolveLegacyName(store: LegacyNameBook, name: string): Promise<string | undefined> {
  const recorded = (await store.getMeta(PREFIX + name)) ?? (name.startsWith('DAG-') ? undefined : await store.getMeta(`${PREFIX}DAG-${name}`));
  if (recorded !== undefined) return recorded;
  return (await store.getJob(name)) !== undefined ? name : undefined;
}
