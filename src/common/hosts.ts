import { isIP } from 'node:net';

/** The flag that serves the original Titan's protocol v1 (no token), named by every check that refuses it. */
export const LEGACY_FLAG = '--allow-legacy-unauthenticated';

/** Addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** The host part of a peer address as the master sees it ("::ffff:127.0.0.1:5000" → "127.0.0.1"). */
export function hostOf(remoteAddress: string): string {
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(remoteAddress);
  const host = bracketed?.[1] ?? remoteAddress.replace(/:\d+$/, '');
  return host.startsWith('::ffff:') ? host.slice(7) : host;
}
