/**
 * Fences around one job's process: a per-job cgroup (memory, CPU, pids) when the kernel lets the
 * worker make one, else rlimits through util-linux's prlimit; and for the sandbox driver, bwrap's
 * namespaces. Chosen once at worker start (`probe`), applied per job by wrapping its command.
 */
import { spawnSync } from 'node:child_process';
import type { Logger } from '../../common/log.js';
import type { DriverName, JobResources } from '../../core/resources.js';
import type { Command } from '../interpreter.js';
import { probeCgroups, type CgroupHost, type JobCgroup } from './cgroup.js';
import { probeSandbox, sandboxed } from './sandbox.js';

export type LimitsMode = 'auto' | 'cgroup' | 'rlimit' | 'none';

export interface ConfinerOptions {
  readonly workerId: string;
  readonly limits: LimitsMode;
  /** Processes a job may have at once; 0 for no limit. A limit gives every job a cgroup. */
  readonly pidsLimit: number;
  /** Whether to find bwrap for the sandbox driver. */
  readonly sandbox: boolean;
  /** Host paths a sandboxed job must not see (the worker's files, /root, password hashes). */
  readonly hidden?: readonly string[];
  /** Host folders bound read-only over the hidden ones (the TLS files jobs dial the master with). */
  readonly shown?: readonly string[];
}

/** What a job asks to be fenced with. */
export interface ConfineRequest {
  readonly jobId: string;
  readonly attempt: number;
  readonly workspace: string;
  readonly writable: readonly string[];
  readonly resources?: JobResources | undefined;
  readonly driver: DriverName;
  readonly network: 'host' | 'none';
  /** Drop to this user once the fences that need the worker's rights are up. */
  readonly user?: { readonly uid: number; readonly gid: number } | undefined;
}

export interface Confinement {
  readonly command: Command;
  /** The cgroup.procs files of the job's cgroups, when it has any. */
  readonly cgroupProcs?: readonly string[];
  /** The kernel OOM-killed a process of the job (cgroups), or the job died of the signal rlimits send. */
  oomKilled(): boolean;
  /** SIGKILLs every process of the job, including ones that left its process group. */
  killAll(): void;
  /** After the job ended: kills leftovers and removes its cgroup. */
  release(): void;
}

/** A job's limits in the form a process applies to itself before its program's first line. */
export interface Fence extends Omit<Confinement, 'command'> {
  /** cgroup.procs files to write the job's pid into (one per hierarchy); empty without cgroups. */
  readonly cgroupProcs: readonly string[];
  /** Limits to set with setrlimit when there are no cgroups: address space bytes, processes. */
  readonly rlimits: { readonly as?: number; readonly nproc?: number };
}

const NO_FENCE = { cgroupProcs: [], rlimits: {}, oomKilled: () => false, killAll: () => undefined, release: () => undefined } as const;

/** Joins the cgroups named before `--`, then becomes the job's program: nothing runs unconfined. */
const JOIN = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"';

export class Confiner {
  private starts = 0;

  private constructor(
    private readonly options: ConfinerOptions,
    readonly cgroups: CgroupHost | null,
    private readonly prlimit: string | null,
    readonly bwrap: string | null,
    private readonly setpriv: string | null,
    /** One line per mechanism, for the worker's start log and README. */
    readonly report: Readonly<Record<string, string>>,
    private readonly log: Logger | undefined,
  ) {}

  static probe(options: ConfinerOptions, log?: Logger): Confiner {
    const report: Record<string, string> = {};
    let cgroups: CgroupHost | null = null;
    let prlimit: string | null = null;
    if (options.limits === 'auto' || options.limits === 'cgroup') {
      const probe = probeCgroups(options.workerId);
      cgroups = probe.host;
      report.cgroups = cgroups !== null ? `cgroup v${cgroups.version} at ${cgroups.root}` : `unavailable: ${probe.why}`;
      if (cgroups === null && options.limits === 'cgroup')
        throw new Error(`--limits cgroup: ${probe.why}; run the worker where it may create cgroups, or use --limits rlimit`);
    }
    if (cgroups === null && (options.limits === 'auto' || options.limits === 'rlimit')) {
      const which = spawnSync('sh', ['-c', 'command -v prlimit'], { encoding: 'utf8' });
      prlimit = which.status === 0 ? which.stdout.trim() : null;
      report.rlimit = prlimit !== null ? `prlimit at ${prlimit}` : 'unavailable: prlimit (util-linux) not found';
    }
    let bwrap: string | null = null;
    if (options.sandbox) {
      const probe = probeSandbox();
      bwrap = probe.bwrap;
      report.sandbox = bwrap !== null ? `bwrap at ${bwrap}` : `unavailable: ${probe.why}`;
    }
    const setpriv = spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' });
    return new Confiner(options, cgroups, prlimit, bwrap, setpriv.status === 0 ? setpriv.stdout.trim() : null, report, log);
  }

  /** Which mechanism enforces limits: what `titan workers` and the logs show. */
  get limitsMechanism(): string {
    if (this.cgroups !== null) return `cgroup-v${this.cgroups.version}`;
    if (this.prlimit !== null) return 'rlimit';
    return 'none';
  }

  /** The job's command wrapped in its fences; null when nothing applies (the fast path). */
  confine(req: ConfineRequest, command: Command): Confinement | null {
    const fence = this.fence(req);
    let wrapped = command;
    if ((req.driver === 'sandbox' || fence !== null) && req.user !== undefined) {
      // Innermost: cgroup joins, bwrap's mounts and prlimit need the worker's rights; the job does not.
      if (this.setpriv === null) throw new Error('setpriv (util-linux) is missing, so a confined job cannot be run as the job user; install util-linux');
      wrapped = {
        ...wrapped,
        file: this.setpriv,
        argv: [`--reuid=${req.user.uid}`, `--regid=${req.user.gid}`, '--clear-groups', '--', wrapped.file, ...wrapped.argv],
      };
    }
    if (req.driver === 'sandbox') {
      if (this.bwrap === null) throw new Error(`this worker cannot run sandboxed jobs: ${this.report.sandbox ?? 'it was not started with the sandbox driver'}`);
      wrapped = sandboxed(
        this.bwrap,
        { workspace: req.workspace, writable: req.writable, network: req.network, hidden: this.options.hidden ?? [], shown: this.options.shown ?? [] },
        wrapped,
      );
    }
    if (fence === null) return wrapped === command ? null : { ...NO_FENCE, command: wrapped };
    if (fence.cgroupProcs.length > 0) {
      return {
        ...fence,
        command: { ...wrapped, file: '/bin/sh', argv: ['-c', JOIN, 'titan-cgroup', ...fence.cgroupProcs, '--', wrapped.file, ...wrapped.argv] },
      };
    }
    const { as, nproc } = fence.rlimits;
    const limits = [...(as !== undefined ? [`--as=${as}`] : []), ...(nproc !== undefined ? [`--nproc=${nproc}`] : [])];
    if (limits.length > 0 && this.prlimit !== null) wrapped = { ...wrapped, file: this.prlimit, argv: [...limits, '--', wrapped.file, ...wrapped.argv] };
    return { ...fence, command: wrapped };
  }

  /**
   * The job's limits as a process applies them to itself (cgroups to join, rlimits to set) rather
   * than as a wrapped command: for a process forked by a warm interpreter. Null when none apply.
   */
  fence(req: Omit<ConfineRequest, 'driver' | 'network' | 'workspace' | 'writable'>): Fence | null {
    const memoryMb = req.resources?.memoryMb;
    const cpu = req.resources?.cpu;
    const pidsMax = this.options.pidsLimit > 0 ? this.options.pidsLimit : undefined;
    if (memoryMb === undefined && cpu === undefined && pidsMax === undefined) return null;
    if (this.cgroups !== null) {
      // Unique per start: a service restarted in the same attempt must not meet its previous cgroup.
      const group = this.cgroups.create(`${req.jobId}-${req.attempt}-${++this.starts}`, {
        ...(memoryMb !== undefined ? { memoryMb } : {}),
        ...(cpu !== undefined ? { cpu } : {}),
        ...(pidsMax !== undefined ? { pidsMax } : {}),
      });
      return cgroupFence(group, this.log, req);
    }
    if (this.prlimit === null) return null;
    // RLIMIT_AS bounds address space, not resident memory: the closest rlimit to a memory limit.
    const rlimits = { ...(memoryMb !== undefined ? { as: memoryMb * 1048576 } : {}), ...(pidsMax !== undefined ? { nproc: pidsMax } : {}) };
    if (Object.keys(rlimits).length === 0) return null;
    return { ...NO_FENCE, cgroupProcs: [], rlimits };
  }

  close(): void {
    this.cgroups?.close();
  }
}

function cgroupFence(group: JobCgroup, log: Logger | undefined, req: { jobId: string; attempt: number }): Fence {
  let released = false;
  return {
    cgroupProcs: group.procsFiles,
    rlimits: {},
    oomKilled: () => group.oomKilled(),
    killAll: () => void group.killAll(),
    release: () => {
      if (released) return;
      released = true;
      const left = group.killAll();
      if (left > 0) log?.info({ jobId: req.jobId, attempt: req.attempt, killed: left }, 'killed processes the job left in its cgroup');
      // The kernel empties a cgroup a moment after its last process dies; retry briefly.
      let tries = 0;
      const tryRemove = (): void => {
        if (group.remove() || ++tries > 50) return;
        setTimeout(tryRemove, 20).unref();
      };
      tryRemove();
    },
  };
}
