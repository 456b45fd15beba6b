/** Turns what a job runs (a script or a command line) into the program and arguments to spawn. */
import path from 'node:path';
import type { JobRun } from '../core/job.js';
import { ErrorCode, TitanError } from '../common/errors.js';

export interface Command {
  readonly file: string;
  readonly argv: string[];
  /** A script run as its own program: the caller makes this path executable before spawning. */
  readonly makeExecutable?: string;
  /** The interpreter the script needs, so a spawn ENOENT can name it instead of the script. */
  readonly interpreter?: string;
}

/**
 * Words a shell gives meaning to that no program on PATH reproduces (builtins and keywords): a
 * command starting with one of these must go through the shell even when it has no metacharacters.
 */
const SHELL_ONLY = new Set([
  '.',
  'alias',
  'bg',
  'break',
  'case',
  'cd',
  'command',
  'continue',
  'do',
  'done',
  'elif',
  'else',
  'esac',
  'eval',
  'exec',
  'exit',
  'export',
  'fg',
  'fi',
  'for',
  'function',
  'getopts',
  'hash',
  'if',
  'in',
  'jobs',
  'local',
  'read',
  'readonly',
  'return',
  'select',
  'set',
  'shift',
  'source',
  'then',
  'time',
  'times',
  'trap',
  'type',
  'ulimit',
  'umask',
  'unalias',
  'unset',
  'until',
  'wait',
  'while',
]);

/** Characters that never change meaning in sh: a command made only of these splits on blanks. */
const PLAIN_COMMAND = /^[A-Za-z0-9_\-./=:,+@% \t]+$/;

let tsxLoaderUrl: string | undefined;

/**
 * The tsx ESM+CJS loader as a file URL, so `node --import` finds it whatever the job's cwd is.
 * tsx is an optional dependency: only `.ts` job scripts need it.
 */
export function tsxLoader(): string {
  if (tsxLoaderUrl === undefined) {
    try {
      tsxLoaderUrl = import.meta.resolve('tsx');
    } catch (err) {
      throw new TitanError(
        ErrorCode.INTERNAL,
        `cannot run TypeScript jobs: the optional tsx package is not installed next to titan (${String(err)}); reinstall titan with its optional dependencies`,
      );
    }
  }
  return tsxLoaderUrl;
}

/**
 * The program and argv for one job attempt. A script lives in the workspace and its interpreter is
 * chosen by extension, args following the script. A command line runs as `/bin/sh -c command`
 * with args as its positional parameters ($1…, "$@"). A command with no shell syntax at all
 * (`/bin/true`, `python3 -m x --n=1`) is spawned directly with args appended, as
 * `sh -c 'command "$@"'` would run it, without the cost of a shell process per job.
 */
export function commandFor(run: JobRun, args: readonly string[], workspace: string): Command {
  if (run.kind === 'command') return commandLine(run.command, args);
  const script = scriptPath(workspace, run.fileName);
  const ext = path.extname(run.fileName).toLowerCase();
  switch (ext) {
    case '.py':
      // -u: unbuffered, so a Python job's lines reach the log as they are printed, not at exit.
      return { file: 'python3', argv: ['-u', script, ...args], interpreter: 'python3' };
    case '.sh':
      return { file: 'bash', argv: [script, ...args], interpreter: 'bash' };
    case '.js':
    case '.mjs':
    case '.cjs':
      return { file: process.execPath, argv: [script, ...args], interpreter: 'node' };
    case '.ts':
    case '.mts':
    case '.cts':
      return { file: process.execPath, argv: ['--import', tsxLoader(), script, ...args], interpreter: 'node' };
    case '.jar':
      return { file: 'java', argv: ['-jar', script, ...args], interpreter: 'java' };
    default:
      return { file: script, argv: [...args], makeExecutable: script };
  }
}

function commandLine(command: string, args: readonly string[]): Command {
  const words = PLAIN_COMMAND.test(command) ? command.trim().split(/[ \t]+/) : [];
  const first = words[0];
  if (first !== undefined && first !== '' && !first.includes('=') && !SHELL_ONLY.has(first)) {
    return { file: first, argv: [...words.slice(1), ...args] };
  }
  // Args are the shell's positional parameters ("titan" is $0), so they arrive quoted, never
  // re-parsed; shell syntax decides where they go ("$1", "$@").
  return { file: '/bin/sh', argv: ['-c', command, 'titan', ...args] };
}

function scriptPath(workspace: string, fileName: string): string {
  const root = path.resolve(workspace);
  const full = path.resolve(root, fileName);
  const rel = path.relative(root, full);
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw new TitanError(ErrorCode.UNSAFE_PATH, `script "${fileName}" resolves outside the job workspace ${root}; give the script a relative name inside it`);
  }
  return full;
}
