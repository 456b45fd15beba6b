import { TitanError } from '../common/errors.js';
import { Exit, exitCodeFor } from './exit-codes.js';

/** What the CLI prints when a command fails: the same facts as text on stderr or as JSON on stdout. */
export interface Failure {
  readonly exit: number;
  readonly code: string;
  readonly message: string;
  readonly hint: string | null;
}

/** The flags that choose a listening address, and the default port of each. */
const ADDRESS_FLAGS: ReadonlyArray<{ readonly flag: string; readonly defaultPort: number | null }> = [
  { flag: '--listen', defaultPort: 9090 },
  { flag: '--http', defaultPort: 8080 },
  { flag: '--grpc', defaultPort: null },
  { flag: '--inference-listen', defaultPort: 11500 },
];

function flagValue(args: readonly string[], flag: string): string | undefined {
  const i = args.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
  if (i < 0) return undefined;
  const arg = args[i] ?? '';
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[i + 1];
}

/** The flag that set the address a server could not bind: the one given with that port, else the one whose default it is. */
export function flagForPort(args: readonly string[], port: number): string | undefined {
  const given = ADDRESS_FLAGS.find(({ flag }) => flagValue(args, flag)?.endsWith(`:${port}`));
  if (given !== undefined) return given.flag;
  return ADDRESS_FLAGS.find(({ flag, defaultPort }) => defaultPort === port && flagValue(args, flag) === undefined)?.flag;
}

const HINTS: Partial<Record<number, string>> = {
  [Exit.UNREACHABLE]: 'is the master running? start one with `titan up`, or point --master (env TITAN_MASTER) at it',
  [Exit.UNAUTHENTICATED]: 'pass --token (env TITAN_TOKEN) with the cluster token or an API token that has the role this needs',
  [Exit.LIMITED]: 'retry later',
};

/** Turns anything a command threw into the failure the user sees; `args` is argv after the script. */
export function describeFailure(err: unknown, args: readonly string[]): Failure {
  const errno = err as NodeJS.ErrnoException & { port?: number; address?: string };
  if (errno?.code === 'EADDRINUSE' && typeof errno.port === 'number') {
    const flag = flagForPort(args, errno.port);
    const where = `${errno.address ?? '?'}:${errno.port}`;
    const demo = args[0] === 'up' ? ' (for the demo: npm run demo -- --listen 127.0.0.1:0 --http 127.0.0.1:0)' : '';
    return {
      exit: Exit.USAGE,
      code: 'EADDRINUSE',
      message: `${where} is already in use by another program`,
      hint:
        flag !== undefined
          ? `pick another address with ${flag} <host:port> (port 0 takes any free one)${demo}, or stop what holds ${where}`
          : `stop what holds ${where}, or listen elsewhere`,
    };
  }
  const exit = exitCodeFor(err);
  if (err instanceof TitanError) return { exit, code: err.code, message: err.message, hint: HINTS[exit] ?? null };
  return { exit, code: 'E_INTERNAL', message: err instanceof Error ? err.message : String(err), hint: null };
}

/** True when the failure is only that the reader of stdout went away (`titan jobs | head`). */
export function isBrokenPipe(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'EPIPE';
}
