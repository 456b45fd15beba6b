/**
 * Per-job control groups: memory, CPU and process-count limits enforced by the kernel, a way to
 * kill every process of a job (even one that left its process group), and the kernel's word on
 * whether the job was OOM-killed. cgroup v2 when its controllers can be delegated to the worker,
 * else cgroup v1's memory, pids and cpu hierarchies.
 */
import { mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export interface CgroupLimits {
  readonly memoryMb?: number;
  /** Cores; enforced as a CFS quota per 100 ms period. */
  readonly cpu?: number;
  readonly pidsMax?: number;
}

export interface JobCgroup {
  /** The cgroup.procs files a process writes its pid into to join (one per hierarchy). */
  readonly procsFiles: readonly string[];
  /** True when the kernel's OOM killer killed a process of this cgroup. */
  oomKilled(): boolean;
  /** SIGKILLs every process still in the cgroup; returns how many were signalled. */
  killAll(): number;
  /** Removes the cgroup once it is empty; false when processes are still in it. */
  remove(): boolean;
}

export interface CgroupHost {
  readonly version: 1 | 2;
  /** Where the job cgroups are made (for v1, the memory hierarchy's). */
  readonly root: string;
  create(name: string, limits: CgroupLimits): JobCgroup;
  /** Removes the worker's own (empty) parent cgroups. */
  close(): void;
}

const PERIOD_US = 100_000;
/** The v2 leaf the worker moves itself into when its own cgroup may not delegate while it is in it. */
const SELF = 'worker';

interface Mount {
  readonly point: string;
  readonly type: 'cgroup' | 'cgroup2';
  readonly options: readonly string[];
}

/** cgroup mounts from /proc/self/mountinfo: `... mountpoint ... - fstype source superoptions`. */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const point = left.split(' ')[4];
    const [type, , superOptions] = right.split(' ');
    if (point === undefined || (type !== 'cgroup' && type !== 'cgroup2')) continue;
    mounts.push({ point: point.replace(/\\040/g, ' '), type, options: (superOptions ?? '').split(',') });
  }
  return mounts;
}

/** /proc/self/cgroup: `id:controllers:path`; v2 is `0::path`. */
export function parseProcCgroup(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (match === null) continue;
    const controllers = match[1] ?? '';
    const path = match[2] ?? '/';
    if (controllers === '') paths.set('', path);
    for (const c of controllers.split(',')) if (c !== '') paths.set(c, path);
  }
  return paths;
}

function write(file: string, value: string): void {
  writeFileSync(file, value);
}

function readCount(file: string, key: string): number {
  try {
    const match = new RegExp(`^${key} (\\d+)$`, 'm').exec(readFileSync(file, 'utf8'));
    return match === null ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
}

function killProcs(dir: string): number {
  let killed = 0;
  let text = '';
  try {
    text = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
  } catch {
    return 0;
  }
  for (const pid of text
    .split('\n')
    .filter((l) => l !== '')
    .map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // gone already
    }
  }
  return killed;
}

function tryRmdir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Removes job cgroups a previous life of this worker left behind (their processes are killed first). */
function sweep(parent: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(parent, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === SELF) continue; // the worker itself (v2)
    killProcs(join(parent, name));
    tryRmdir(join(parent, name));
  }
}

class V2Host implements CgroupHost {
  readonly version = 2 as const;
  constructor(readonly root: string) {}

  create(name: string, limits: CgroupLimits): JobCgroup {
    const dir = join(this.root, name);
    mkdirSync(dir);
    if (limits.memoryMb !== undefined) {
      write(join(dir, 'memory.max'), String(limits.memoryMb * 1048576));
      if (existsSync(join(dir, 'memory.swap.max'))) write(join(dir, 'memory.swap.max'), '0');
    }
    if (limits.cpu !== undefined) {
      write(join(dir, 'cpu.max'), `${Math.max(1000, Math.round(limits.cpu * PERIOD_US))} ${PERIOD_US}`);
      // Shares under contention as well as the cap: 100 per core (the default weight is 100).
      if (existsSync(join(dir, 'cpu.weight'))) write(join(dir, 'cpu.weight'), String(Math.min(10000, Math.max(1, Math.round(limits.cpu * 100)))));
    }
    if (limits.pidsMax !== undefined) write(join(dir, 'pids.max'), String(limits.pidsMax));
    return {
      procsFiles: [join(dir, 'cgroup.procs')],
      oomKilled: () => readCount(join(dir, 'memory.events'), 'oom_kill') > 0,
      killAll: () => {
        try {
          write(join(dir, 'cgroup.kill'), '1');
        } catch {
          // cgroup.kill is Linux 5.14+; signal each member instead.
        }
        return killProcs(dir);
      },
      remove: () => tryRmdir(dir),
    };
  }

  close(): void {
    sweep(this.root);
    tryRmdir(this.root);
  }
}

type V1Controller = 'memory' | 'pids' | 'cpu';

class V1Host implements CgroupHost {
  readonly version = 1 as const;
  readonly root: string;
  constructor(private readonly roots: ReadonlyMap<V1Controller, string>) {
    this.root = roots.get('memory') ?? [...roots.values()][0] ?? '';
  }

  create(name: string, limits: CgroupLimits): JobCgroup {
    const dirs = new Map<V1Controller, string>();
    for (const [controller, root] of this.roots) {
      const dir = join(root, name);
      // The worker's own cgroup is made on its first limited job, so idle workers leave nothing behind.
      mkdirSync(dir, { recursive: true });
      dirs.set(controller, dir);
    }
    const memory = dirs.get('memory');
    if (memory !== undefined && limits.memoryMb !== undefined) {
      const bytes = String(limits.memoryMb * 1048576);
      write(join(memory, 'memory.limit_in_bytes'), bytes);
      // With swap accounting, memory+swap gets the same limit: going over memory is not swapping.
      if (existsSync(join(memory, 'memory.memsw.limit_in_bytes'))) write(join(memory, 'memory.memsw.limit_in_bytes'), bytes);
    }
    const cpu = dirs.get('cpu');
    if (cpu !== undefined && limits.cpu !== undefined) {
      write(join(cpu, 'cpu.cfs_period_us'), String(PERIOD_US));
      write(join(cpu, 'cpu.cfs_quota_us'), String(Math.max(1000, Math.round(limits.cpu * PERIOD_US))));
      write(join(cpu, 'cpu.shares'), String(Math.max(2, Math.round(limits.cpu * 1024))));
    }
    const pids = dirs.get('pids');
    if (pids !== undefined && limits.pidsMax !== undefined) write(join(pids, 'pids.max'), String(limits.pidsMax));
    const all = [...dirs.values()];
    return {
      procsFiles: all.map((d) => join(d, 'cgroup.procs')),
      oomKilled: () => memory !== undefined && readCount(join(memory, 'memory.oom_control'), 'oom_kill') > 0,
      killAll: () => all.reduce((n, d) => n + killProcs(d), 0),
      remove: () => all.map((d) => tryRmdir(d)).every(Boolean),
    };
  }

  close(): void {
    for (const root of this.roots.values()) {
      sweep(root);
      tryRmdir(root);
    }
  }
}

export interface ProbeResult {
  readonly host: CgroupHost | null;
  /** Why cgroups are not used, when they are not. */
  readonly why: string;
}

/**
 * Finds a cgroup hierarchy this worker may create job cgroups in, under its own cgroup (so the
 * worker's own limits still hold), named after the worker. Sweeps what a previous life left.
 */
export function probeCgroups(workerId: string, files = { mountinfo: '/proc/self/mountinfo', cgroup: '/proc/self/cgroup' }): ProbeResult {
  let mounts: Mount[];
  let own: Map<string, string>;
  try {
    mounts = parseMountinfo(readFileSync(files.mountinfo, 'utf8'));
    own = parseProcCgroup(readFileSync(files.cgroup, 'utf8'));
  } catch (err) {
    return { host: null, why: `cannot read the process's cgroups (${(err as Error).message})` };
  }
  const name = `titan-${workerId}`;
  const problems: string[] = [];
  const v2 = mounts.find((m) => m.type === 'cgroup2');
  if (v2 !== undefined && own.has('')) {
    const base = join(v2.point, own.get('') ?? '/');
    try {
      const available = readFileSync(join(base, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
      const wanted = ['memory', 'pids', 'cpu'].filter((c) => available.includes(c));
      if (!wanted.includes('memory') || !wanted.includes('pids'))
        throw new Error(`the memory and pids controllers are not delegated there (available: ${available.join(' ') || 'none'})`);
      const enable = wanted.map((c) => `+${c}`).join(' ');
      const root = join(base, name);
      mkdirSync(root, { recursive: true });
      try {
        write(join(base, 'cgroup.subtree_control'), enable);
      } catch (err) {
        // v2 lets a cgroup that holds processes (the worker's own) hand out no controllers: the
        // worker moves itself into a leaf of its own cgroup first, then delegates.
        if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
        mkdirSync(join(root, SELF), { recursive: true });
        write(join(root, SELF, 'cgroup.procs'), String(process.pid));
        write(join(base, 'cgroup.subtree_control'), enable);
      }
      write(join(root, 'cgroup.subtree_control'), enable);
      sweep(root);
      return { host: new V2Host(root), why: '' };
    } catch (err) {
      problems.push(`cgroup v2 at ${base}: ${(err as Error).message}`);
    }
  }
  const roots = new Map<V1Controller, string>();
  for (const controller of ['memory', 'pids', 'cpu'] as const) {
    const mount = mounts.find((m) => m.type === 'cgroup' && m.options.includes(controller));
    const path = own.get(controller);
    if (mount === undefined || path === undefined) continue;
    const root = join(mount.point, path, name);
    try {
      mkdirSync(root, { recursive: true });
      sweep(root);
      roots.set(controller, root);
    } catch (err) {
      problems.push(`cgroup v1 ${controller}: ${(err as Error).message}`);
    }
  }
  if (roots.has('memory') && roots.has('pids')) {
    for (const root of roots.values()) tryRmdir(root);
    return { host: new V1Host(roots), why: '' };
  }
  for (const root of roots.values()) tryRmdir(root);
  return { host: null, why: problems.length > 0 ? problems.join('; ') : 'no writable cgroup hierarchy with the memory and pids controllers' };
}
