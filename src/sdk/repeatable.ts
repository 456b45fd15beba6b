import { Opcode } from '../protocol/opcodes.js';

/** Requests that only read: sending one again after a lost connection cannot do anything twice. */
const READS: ReadonlySet<number> = new Set<number>([
  Opcode.PING,
  Opcode.JOB_STATUS,
  Opcode.JOB_LIST,
  Opcode.JOB_WAIT,
  Opcode.JOB_HISTORY,
  Opcode.CLUSTER_STATS,
  Opcode.ARTIFACT_GET,
  Opcode.ARTIFACT_FETCH,
  Opcode.ARTIFACT_LIST,
  Opcode.DAG_STATUS,
  Opcode.DAG_LIST,
  Opcode.DAG_WAIT,
  Opcode.KV_GET,
  Opcode.KV_SMEMBERS,
  Opcode.SERVICE_LIST,
  Opcode.SCHEDULE_LIST,
  Opcode.APPROVAL_LIST,
  Opcode.INFERENCE_STATUS,
  Opcode.WHOAMI,
  Opcode.TOKEN_LIST,
  Opcode.AUDIT_LIST,
  Opcode.AUDIT_VERIFY,
  // A content-addressed upload stores the same bytes under the same hash however often it is sent.
  Opcode.ARTIFACT_PUT,
  // Resumed from the last line seen (TitanClient.logs), or sent again only before its first line.
  Opcode.JOB_LOGS,
]);

export function isRepeatable(opcode: number): boolean {
  return READS.has(opcode);
}
