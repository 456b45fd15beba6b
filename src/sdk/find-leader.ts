import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { Peer } from '../protocol/peer.js';
import { formatHostPort, parseHostPort, type HostPort } from './address.js';
import { connectPeer, type ConnectOptions } from './connect.js';

export const FAILOVER_DEFAULTS = {
  /**
   * How long a client with several masters keeps looking for the leader: a failover takes about
   * one lease TTL (10 s by default, src/leadership) plus the election, so a little more than that.
   */
  failoverTimeoutMs: 15_000,
  backoffMinMs: 100,
  backoffMaxMs: 2_000,
} as const;

export interface LeaderSearch extends Omit<ConnectOptions, 'host' | 'port'> {
  readonly masters: readonly HostPort[];
  /** Tried first: the leader a standby named (host:port). */
  readonly prefer?: string | null;
  /** With more than one master, rounds over the list go on until this much time has passed. */
  readonly failoverTimeoutMs?: number;
}

/** Answers that say this master will not serve us, so the next one may: nothing was done. */
export function isMoveOn(err: unknown): err is TitanError {
  return (
    err instanceof TitanError &&
    (err.code === ErrorCode.CONNECTION_CLOSED || err.code === ErrorCode.TIMEOUT || err.code === ErrorCode.NOT_LEADER || err.code === ErrorCode.FENCED)
  );
}

/**
 * Connects and authenticates to the leading master: the named leader first, then the list in
 * order; a standby's E_NOT_LEADER sends us to the leader it names. A refused, closed or silent
 * address moves on to the next. With one master this is one attempt, as before lists existed;
 * with several, rounds repeat with a short backoff until `failoverTimeoutMs`, then the error
 * names every address tried and what each answered.
 */
export async function connectToLeader(search: LeaderSearch): Promise<{ peer: Peer; heartbeatIntervalMs: number; address: string }> {
  const listed = search.masters.map(formatHostPort);
  const budget = listed.length > 1 ? (search.failoverTimeoutMs ?? FAILOVER_DEFAULTS.failoverTimeoutMs) : 0;
  const deadline = Date.now() + budget;
  const outcomes = new Map<string, string>();
  let named = search.prefer ?? null;
  let lastError: TitanError | undefined;
  for (let round = 0; ; round++) {
    const queue = named === null ? [...listed] : [named, ...listed.filter((a) => a !== named)];
    const seen = new Set<string>();
    named = null;
    while (queue.length > 0) {
      const address = queue.shift()!;
      if (seen.has(address)) continue;
      seen.add(address);
      try {
        const { host, port } = parseHostPort(address);
        return { ...(await connectPeer({ ...search, host, port })), address };
      } catch (err) {
        // An address a standby named that is not host:port is passed over like a dead one; the list's own were checked.
        const unusable = err instanceof TitanError && err.code === ErrorCode.INVALID_REQUEST && !listed.includes(address);
        if (!isMoveOn(err) && !unusable) throw err;
        lastError = err;
        outcomes.set(address, err.message);
        // Followed within this round, so a standby's answer costs no backoff.
        if (typeof err.leader === 'string' && !seen.has(err.leader)) queue.unshift(err.leader);
        else if (typeof err.leader === 'string') named = err.leader;
      }
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(left, FAILOVER_DEFAULTS.backoffMaxMs, FAILOVER_DEFAULTS.backoffMinMs * 2 ** round));
  }
  if (outcomes.size === 1 && lastError !== undefined) throw lastError;
  const tried = [...outcomes].map(([address, why]) => `${address}: ${why}`).join('; ');
  throw new TitanError(
    lastError?.code === ErrorCode.NOT_LEADER ? ErrorCode.NOT_LEADER : ErrorCode.CONNECTION_CLOSED,
    `no leading master found${budget > 0 ? ` within ${budget} ms` : ''}; tried ${outcomes.size} addresses — ${tried}`,
  );
}
