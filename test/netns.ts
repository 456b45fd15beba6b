/**
 * A network namespace joined to the host by a veth pair, for tests that cut a worker off from its
 * master and reconnect it. Needs root and `ip netns`; `create` says why when it cannot.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface NetNs {
  readonly name: string;
  /** The host end's address: a master listening here is reachable from inside the namespace. */
  readonly hostAddress: string;
  /** The command prefix that runs a program inside the namespace. */
  readonly exec: readonly string[];
  /** Takes the link down (a cut cable: no RST, packets vanish) or up again. */
  setLink(up: boolean): void;
  /** True when the kernel has the netem qdisc (tc), or why the link cannot be slowed. */
  readonly canSlow: true | string;
  /** Delays every packet leaving the host end by `delayMs` (± jitter), or lifts the delay (null). */
  slow(delayMs: number | null, jitterMs?: number): void;
  remove(): void;
}

function tc(args: readonly string[]): { ok: boolean; why: string } {
  const out = spawnSync('tc', args, { encoding: 'utf8' });
  if (out.error !== undefined) return { ok: false, why: `tc ${args.join(' ')}: ${out.error.message}` };
  return { ok: out.status === 0, why: `tc ${args.join(' ')}: ${out.stderr.trim() || `exit ${String(out.status)}`}` };
}

/** Whether netem can delay `dev`: tries a 1 ms delay and lifts it again. */
function probeNetem(dev: string): true | string {
  const added = tc(['qdisc', 'add', 'dev', dev, 'root', 'netem', 'delay', '1ms']);
  if (!added.ok) return `the kernel has no netem qdisc (sch_netem): ${added.why}`;
  tc(['qdisc', 'del', 'dev', dev, 'root']);
  return true;
}

function ip(args: readonly string[]): { ok: boolean; why: string } {
  const out = spawnSync('ip', args, { encoding: 'utf8' });
  if (out.error !== undefined) return { ok: false, why: `ip ${args.join(' ')}: ${out.error.message}` };
  return { ok: out.status === 0, why: `ip ${args.join(' ')}: ${out.stderr.trim() || `exit ${String(out.status)}`}` };
}

/** A fresh namespace and link, or the reason this machine cannot make one. */
export function createNetNs(): NetNs | string {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  const tag = randomBytes(3).toString('hex');
  const name = `titan-t-${tag}`;
  const hostIf = `tt${tag}h`;
  const nsIf = `tt${tag}n`;
  const octet = (randomBytes(1)[0] ?? 0) % 250;
  const block = ((randomBytes(1)[0] ?? 0) % 60) * 4;
  const hostAddress = `10.251.${octet}.${block + 1}`;
  const nsAddress = `10.251.${octet}.${block + 2}`;
  const steps: string[][] = [
    ['netns', 'add', name],
    ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf],
    ['link', 'set', nsIf, 'netns', name],
    ['addr', 'add', `${hostAddress}/30`, 'dev', hostIf],
    ['link', 'set', hostIf, 'up'],
    ['-n', name, 'addr', 'add', `${nsAddress}/30`, 'dev', nsIf],
    ['-n', name, 'link', 'set', nsIf, 'up'],
    ['-n', name, 'link', 'set', 'lo', 'up'],
  ];
  const remove = (): void => {
    ip(['link', 'del', hostIf]);
    ip(['netns', 'del', name]);
  };
  for (const step of steps) {
    const result = ip(step);
    if (!result.ok) {
      remove();
      return `cannot set up a network namespace: ${result.why}`;
    }
  }
  return {
    name,
    hostAddress,
    exec: ['ip', 'netns', 'exec', name],
    setLink: (up) => {
      const result = ip(['link', 'set', hostIf, up ? 'up' : 'down']);
      if (!result.ok) throw new Error(result.why);
    },
    canSlow: probeNetem(hostIf),
    slow: (delayMs, jitterMs = 0) => {
      const result =
        delayMs === null
          ? tc(['qdisc', 'del', 'dev', hostIf, 'root'])
          : tc(['qdisc', 'replace', 'dev', hostIf, 'root', 'netem', 'delay', `${delayMs}ms`, `${jitterMs}ms`]);
      if (!result.ok) throw new Error(result.why);
    },
    remove,
  };
}
