import { encodeMessage } from '../src/protocol/codec.js';
import { Opcode } from '../src/protocol/opcodes.js';

/** Seeded generators of hostile input for test/e2e-fuzz.test.ts: mutated request bodies, mangled frames, mutated YAML. */

/** mulberry32: small, seeded, good enough to pick mutations. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const random = rng(0x7174a9);
const int = (n: number): number => Math.floor(random() * n);
export const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
const randomString = (max: number): string => Array.from({ length: int(max) }, () => String.fromCharCode(int(random() < 0.9 ? 128 : 0x2fff))).join('');

function randomValue(depth = 0): unknown {
  switch (int(depth > 2 ? 8 : 11)) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return int(1e6) - 5e5;
    case 3:
      return pick([Number.MAX_SAFE_INTEGER, -1, 0, 1.5, 1e300, -0]);
    case 4:
      return randomString(20);
    case 5:
      return pick(['', '..', '../../etc/passwd', '/abs', 'a\u0000b', 'x'.repeat(600), 'team-a.x', 'keep.k1x']);
    case 6:
      return new Uint8Array(int(64)).map(() => int(256));
    case 7:
      return pick([[], {}, 'GPU', 'true']);
    case 8:
      return Array.from({ length: int(5) }, () => randomValue(depth + 1));
    case 9:
      return Object.fromEntries(Array.from({ length: int(5) }, () => [randomString(8), randomValue(depth + 1)]));
    default:
      return { kind: pick(['command', 'script', 'x']), command: randomString(30), fileName: randomValue(depth + 1) };
  }
}

/** Valid bodies per client opcode; mutations start from these. Waits and log streams are left out: they answer only when a job ends. */
export const TEMPLATES: ReadonlyArray<[number, Record<string, unknown>]> = [
  [Opcode.PING, {}],
  [Opcode.JOB_SUBMIT, { run: { kind: 'command', command: 'true' }, name: 'fuzz', priority: 1 }],
  [Opcode.JOB_SUBMIT_BATCH, { jobs: [{ run: { kind: 'command', command: 'true' } }] }],
  [Opcode.JOB_STATUS, { jobId: 'fuzz-none' }],
  [Opcode.JOB_LIST, { limit: 5 }],
  [Opcode.JOB_CANCEL, { jobId: 'fuzz-none' }],
  [Opcode.JOB_HISTORY, { jobId: 'fuzz-none' }],
  [Opcode.JOB_RETRY, { jobId: 'fuzz-none' }],
  [Opcode.CLUSTER_STATS, {}],
  [Opcode.ARTIFACT_PUT, { data: new Uint8Array([1, 2, 3]) }],
  [Opcode.ARTIFACT_GET, { hash: 'a'.repeat(64) }],
  [
    Opcode.DAG_SUBMIT,
    {
      name: 'fuzz',
      jobs: [
        { key: 'a', run: { kind: 'command', command: 'true' } },
        { key: 'b', parents: ['a'], run: { kind: 'command', command: 'true' } },
      ],
    },
  ],
  [Opcode.DAG_STATUS, { dagId: 'fuzz-none' }],
  [Opcode.DAG_LIST, { limit: 3 }],
  [Opcode.DAG_CANCEL, { dagId: 'fuzz-none' }],
  [Opcode.DAG_ADD_JOBS, { dagId: 'fuzz-none', jobs: [{ key: 'c', run: { kind: 'command', command: 'true' } }] }],
  [Opcode.KV_GET, { key: 'fuzz.k' }],
  [Opcode.KV_PUT, { key: 'fuzz.k', value: 'v', ttlSeconds: 60 }],
  [Opcode.KV_DELETE, { key: 'fuzz.k' }],
  [Opcode.KV_SADD, { key: 'fuzz.s', members: ['m'] }],
  [Opcode.KV_SMEMBERS, { key: 'fuzz.s' }],
  [Opcode.ARTIFACT_PUBLISH, { key: 'fuzz.a', hash: 'b'.repeat(64) }],
  [Opcode.ARTIFACT_FETCH, { key: 'fuzz.a' }],
  [Opcode.ARTIFACT_LIST, { prefix: 'fuzz', limit: 2 }],
  [Opcode.JOB_APPROVE, { jobId: 'fuzz-none' }],
  [Opcode.JOB_REJECT, { jobId: 'fuzz-none', reason: 'no' }],
  [Opcode.SERVICE_LIST, {}],
  [Opcode.SERVICE_STOP, { jobId: 'fuzz-none' }],
  [Opcode.SCHEDULE_LIST, {}],
  [Opcode.SCHEDULE_REMOVE, { id: 'fuzz-none' }],
  [Opcode.WHOAMI, {}],
  [Opcode.TOKEN_LIST, {}],
  [Opcode.AUDIT_LIST, { limit: 2 }],
  [Opcode.WORKER_HEARTBEAT, { running: 0 }],
  [Opcode.AUTH, { token: 'x', role: 'client' }],
];

/** Requests that list, count or persist many rows cost the master the most; they are drawn a third as often, so the fuzz stays short. */
const HEAVY = new Set<number>([
  Opcode.DAG_SUBMIT,
  Opcode.JOB_SUBMIT_BATCH,
  Opcode.JOB_SUBMIT,
  Opcode.CLUSTER_STATS,
  Opcode.JOB_LIST,
  Opcode.DAG_LIST,
  Opcode.AUDIT_LIST,
]);
const WEIGHTED = TEMPLATES.flatMap((t) => (HEAVY.has(t[0]) ? [t] : [t, t, t]));

/** A template to mutate, weighted (see HEAVY). */
export function pickTemplate(): [number, Record<string, unknown>] {
  return pick(WEIGHTED);
}

export function mutate(body: Record<string, unknown>): unknown {
  const copy: Record<string, unknown> = { ...body };
  const keys = Object.keys(copy);
  switch (int(6)) {
    case 0:
      return copy; // unchanged: a valid request
    case 1:
      if (keys.length > 0) delete copy[pick(keys)];
      return copy;
    case 2:
      if (keys.length > 0) copy[pick(keys)] = randomValue();
      return copy;
    case 3:
      copy[randomString(10)] = randomValue();
      return copy;
    case 4:
      return randomValue();
    default:
      for (const k of keys) if (random() < 0.5) copy[k] = randomValue();
      return copy;
  }
}

/** Flips, cuts, grows or replaces the bytes of a valid frame: what a broken or hostile client sends. */
export function mangle(frame: Buffer): Buffer {
  const out = Buffer.from(frame);
  switch (int(6)) {
    case 0:
      for (let i = 0; i < 1 + int(4); i++) out[int(out.length)] = int(256);
      return out;
    case 1:
      return out.subarray(0, int(out.length));
    case 2:
      return Buffer.concat([out, Buffer.from(Array.from({ length: int(200) }, () => int(256)))]);
    case 3:
      out[int(8)] = int(256);
      return out; // a header byte: version, opcode, flags, spare or length
    case 4:
      out.writeUInt32BE(int(2) === 0 ? 0xffffffff : int(1 << 20), 4);
      return out;
    default:
      return Buffer.from(Array.from({ length: 1 + int(300) }, () => int(256)));
  }
}

export function frameBytes(rid: number): Buffer {
  const [opcode, body] = pickTemplate();
  return encodeMessage(opcode, 0, { rid, body: mutate(body) }, random() < 0.2);
}

export const PIPELINES = [
  'name: one\njobs:\n  - id: a\n    command: "echo a"\n  - id: b\n    command: "echo b"\n    depends_on: [a]\n',
  'name: anchors\ndefaults: &d\n  retries: 1\njobs:\n  - id: x\n    command: "true"\n    <<: *d\n  - id: y\n    command: "true"\n    dependencies: ["x"]\n    retry_backoff: { type: fixed, delay: 1 }\n',
  'name: gate\njobs:\n  - id: build\n    command: "true"\n  - id: ship\n    command: "true"\n    depends_on: [build]\n    approval: { message: "ok?", timeout: 60 }\n    on_failure: rollback\n  - id: rollback\n    command: "true"\n',
];
const YAML_SNIPPETS = [
  '&a',
  '*a',
  '!!js/function "x"',
  '!custom',
  '<<: *zz',
  '{',
  ']',
  '- ',
  ': ',
  '"',
  "'",
  '\t',
  '\u0000',
  '#',
  '|',
  '>',
  '@',
  '`',
  '%YAML 1.1\n---\n',
  'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
  '['.repeat(500),
  'x'.repeat(5000),
];

export function mutateYaml(text: string): string {
  let out = text;
  for (let n = 0; n < 1 + int(4); n++) {
    const at = int(out.length + 1);
    switch (int(5)) {
      case 0:
        out = out.slice(0, at) + pick(YAML_SNIPPETS) + out.slice(at);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(at + 1 + int(10));
        break;
      case 2:
        out = out.slice(0, at) + String.fromCharCode(int(128)) + out.slice(at + 1);
        break;
      case 3: {
        const lines = out.split('\n');
        const i = int(lines.length);
        lines.splice(int(lines.length), 0, lines[i] ?? '');
        out = lines.join('\n');
        break;
      }
      default: {
        const lines = out.split('\n');
        const i = int(lines.length);
        const j = int(lines.length);
        [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
        out = lines.join('\n');
      }
    }
  }
  return out;
}
