/**
 * A job process forked by a warm Python server, seen by the executor the way it sees a spawned
 * child: a pid that leads its own process group, stdout and stderr as readable pipes, and `exit`
 * then `close` events. The pipes are the very ones the child writes to: the worker opens them
 * through /proc/<server>/fd/<n>, and the server closes its copies once told they are open.
 */
import { EventEmitter } from 'node:events';
import { constants, openSync } from 'node:fs';
import { Socket } from 'node:net';

/** What the child reads before it runs anything: where, as whom, and inside which fences. */
export interface WarmJobSpec {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** cgroup.procs files the child writes its pid into before the script's first line. */
  readonly cgroups?: readonly string[];
  /** Resource limits set on the child before the script runs (the rlimit mechanism). */
  readonly rlimits?: { readonly as?: number; readonly nproc?: number };
  /** Dropped to (setgroups, setgid, setuid) before the script runs. */
  readonly user?: { readonly uid: number; readonly gid: number };
}

export interface ForkedPipes {
  readonly serverPid: number;
  readonly pid: number;
  readonly out: number;
  readonly err: number;
  readonly spec: number;
}

export class WarmChild extends EventEmitter {
  readonly pid: number;
  readonly stdout: Socket;
  readonly stderr: Socket;
  /** Set when the job's exit status cannot be known (its server died): the text says why. */
  lostReason: string | undefined;
  readonly #spec: Socket;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  #openStreams = 2;
  #closed = false;

  /** Opens the child's pipes; throws when they are gone (the server or the child died). */
  constructor(pipes: ForkedPipes) {
    super();
    this.pid = pipes.pid;
    const through = (fd: number): string => `/proc/${pipes.serverPid}/fd/${fd}`;
    // O_NONBLOCK: opening a pipe through /proc otherwise waits for a writer that may have exited.
    const out = openSync(through(pipes.out), constants.O_RDONLY | constants.O_NONBLOCK);
    const err = openSync(through(pipes.err), constants.O_RDONLY | constants.O_NONBLOCK);
    const spec = openSync(through(pipes.spec), constants.O_WRONLY | constants.O_NONBLOCK);
    this.stdout = new Socket({ fd: out, readable: true, writable: false });
    this.stderr = new Socket({ fd: err, readable: true, writable: false });
    this.#spec = new Socket({ fd: spec, readable: false, writable: true });
    this.#spec.on('error', () => undefined); // the child died before reading: its exit says so
    for (const stream of [this.stdout, this.stderr]) {
      stream.once('close', () => {
        this.#openStreams--;
        this.#maybeClose();
      });
    }
  }

  /** Hands the child its job; it runs nothing before this. */
  start(spec: WarmJobSpec): void {
    const body = Buffer.from(JSON.stringify(spec));
    this.#spec.end(Buffer.concat([Buffer.from(String(body.length).padStart(10, '0')), body]));
  }

  /** Kills a child that will not be given a job, and lets go of its pipes. */
  discard(): void {
    signalGroup(this.pid, 'SIGKILL');
    this.#spec.destroy();
    this.stdout.destroy();
    this.stderr.destroy();
  }

  /** The server reaped it. */
  exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#exit !== undefined) return;
    this.#exit = { code, signal };
    this.emit('exit', code, signal);
    this.#maybeClose();
  }

  /** Its server died, so its exit will never be reported: the job is stopped rather than left unowned. */
  lost(reason: string): void {
    if (this.#exit !== undefined) return;
    this.lostReason = reason;
    signalGroup(this.pid, 'SIGKILL');
    this.exited(null, 'SIGKILL');
  }

  #maybeClose(): void {
    if (this.#closed || this.#exit === undefined || this.#openStreams > 0) return;
    this.#closed = true;
    this.emit('close', this.#exit.code, this.#exit.signal);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
