/**
 * What a master writes as the lease's holder: a name unique to the process and the addresses
 * clients and workers reach it at, so a standby can tell them where the leader is.
 */
export interface HolderAddresses {
  /** Unique per process (host, pid, random): two masters never share it. */
  readonly name: string;
  /** host:port of the protocol port, as others reach it. */
  readonly tcp: string | null;
  /** The HTTP API, when it has one: host:port, or a base URL (https://host:port under TLS). */
  readonly http: string | null;
}

export function holderText(holder: HolderAddresses): string {
  return JSON.stringify({ name: holder.name, tcp: holder.tcp, http: holder.http });
}

/** The addresses in a lease's holder; a holder that is not this shape (an older or foreign writer) names no address. */
export function holderAddresses(text: string | null): HolderAddresses | null {
  if (text === null) return null;
  try {
    const parsed = JSON.parse(text) as Partial<Record<keyof HolderAddresses, unknown>>;
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.name !== 'string') throw new Error('not a holder');
    return { name: parsed.name, tcp: addressOrNull(parsed.tcp), http: addressOrNull(parsed.http) };
  } catch {
    return { name: text, tcp: null, http: null };
  }
}

const HOST_PORT = /^(?:https?:\/\/)?(?:[^\s:/[\]]+|\[[0-9a-fA-F:]+\]):\d{1,5}$/;

function addressOrNull(value: unknown): string | null {
  return typeof value === 'string' && HOST_PORT.test(value) ? value : null;
}
