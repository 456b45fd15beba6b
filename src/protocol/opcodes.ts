/**
 * TITAN_PROTO opcodes. Numbers are pinned: append new ones, never renumber.
 * 0 is reserved for the protocol-level error frame (see frame.ts).
 */
export const Opcode = {
  AUTH: 1,
  PING: 2,
  // worker → master
  WORKER_REGISTER: 10,
  WORKER_HEARTBEAT: 11,
  JOB_STARTED: 12,
  JOB_FINISHED: 13,
  JOB_LOG_LINES: 14,
  WORKER_DRAINING: 15,
  // master → worker
  JOB_DISPATCH: 20,
  JOB_KILL: 21,
  // clients → master
  JOB_SUBMIT: 30,
  JOB_STATUS: 31,
  JOB_LIST: 32,
  JOB_CANCEL: 33,
  JOB_WAIT: 34,
  JOB_LOGS: 35,
  CLUSTER_STATS: 36,
  ARTIFACT_PUT: 37,
  ARTIFACT_GET: 38,
  JOB_SUBMIT_BATCH: 39,
  DAG_SUBMIT: 40,
  DAG_STATUS: 41,
  DAG_LIST: 42,
  DAG_CANCEL: 43,
  DAG_WAIT: 44,
  DAG_ADD_JOBS: 45,
  JOB_RETRY: 46,
  JOB_HISTORY: 47,
  KV_GET: 48,
  KV_PUT: 49,
  KV_DELETE: 50,
  KV_SADD: 51,
  KV_SMEMBERS: 52,
  ARTIFACT_PUBLISH: 53,
  ARTIFACT_FETCH: 54,
  ARTIFACT_LIST: 55,
  JOB_APPROVE: 56,
  JOB_REJECT: 57,
  // worker → master, services
  SERVICE_READY: 58,
  SERVICE_RESTARTED: 59,
  // clients → master, services
  SERVICE_LIST: 60,
  SERVICE_STOP: 61,
  SERVICE_RESTART: 62,
  // clients → master, schedules
  SCHEDULE_ADD: 63,
  SCHEDULE_LIST: 64,
  SCHEDULE_REMOVE: 65,
  SCHEDULE_PAUSE: 66,
  SCHEDULE_RESUME: 67,
  // worker lifecycle: client → master, then master → worker
  WORKER_SHUTDOWN: 68,
  WORKER_STOP: 69,
  // inference (docs/INFERENCE.md): client → master, then worker → master
  INFERENCE_REQUEST: 70,
  INFERENCE_OUTCOME: 71,
  INFERENCE_STATUS: 72,
  // auto-scaling: master → a spawnable worker host
  WORKER_SPAWN: 73,
  // clients → master, security (docs/SECURITY.md)
  WHOAMI: 74,
  TOKEN_CREATE: 75,
  TOKEN_LIST: 76,
  TOKEN_REVOKE: 77,
  AUDIT_LIST: 78,
  AUDIT_VERIFY: 79,
  // clients → master: every decision waiting on a person (Titan approvals and original-SDK KV gates)
  APPROVAL_LIST: 80,
  // clients → master, maintenance: a retention pass now (`titan gc`)
  STORE_GC: 81,
  // clients → master: a YAML pipeline the master parses, checks and submits (protocol/pipeline-messages.ts)
  PIPELINE_SUBMIT: 82,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

const KNOWN = new Set<number>(Object.values(Opcode));

export function isKnownOpcode(value: number): value is Opcode {
  return KNOWN.has(value);
}

const NAMES = new Map<number, string>(Object.entries(Opcode).map(([name, code]) => [code, name]));

export function opcodeName(value: number): string {
  return NAMES.get(value) ?? `#${value}`;
}
