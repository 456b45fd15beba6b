/** Waits until a service answers on its port: a TCP connect, or an HTTP GET answered 2xx/3xx. */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface ReadinessCheck {
  readonly port: number;
  /** HTTP GET this path and expect 2xx/3xx; a TCP connect when absent. */
  readonly path?: string | undefined;
  /** Aborted when the process exits or the service is stopped: the wait then resolves false. */
  readonly signal: AbortSignal;
  readonly firstDelayMs?: number;
  readonly maxDelayMs?: number;
  /** How long one probe may take before it counts as no answer. */
  readonly probeTimeoutMs?: number;
}

/**
 * Loopback over IPv4 first, then IPv6: Node resolves `localhost` to ::1 on many systems, so a
 * server listening on 'localhost' may answer only there.
 */
const HOSTS = ['127.0.0.1', '::1'] as const;
/** Probes made at the first delay before it starts to grow. */
const FLAT_PROBES = 25;

/** Resolves true once the service answers, false when the signal aborts first. */
export async function waitUntilReady(check: ReadinessCheck): Promise<boolean> {
  const maxDelayMs = check.maxDelayMs ?? 500;
  let delayMs = check.firstDelayMs ?? 20;
  for (let probes = 1; ; probes++) {
    if (!(await pause(delayMs, check.signal))) return false;
    for (const host of HOSTS) {
      if (await probe(host, check)) return !check.signal.aborted;
      if (check.signal.aborted) return false;
    }
    // Flat at first, then growing: most servers bind within a few hundred ms of their start, the
    // slack between probes is added to every restart's time to ready, and a refused loopback
    // connect costs microseconds.
    if (probes >= FLAT_PROBES) delayMs = Math.min(maxDelayMs, Math.ceil(delayMs * 1.5));
  }
}

function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function probe(host: string, check: ReadinessCheck): Promise<boolean> {
  const timeoutMs = check.probeTimeoutMs ?? 2000;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ok: boolean, destroy: () => void): void => {
      if (settled) return;
      settled = true;
      check.signal.removeEventListener('abort', onAbort);
      destroy();
      resolve(ok);
    };
    let onAbort: () => void;
    if (check.path === undefined) {
      const socket = connect({ host, port: check.port });
      const end = (): void => void socket.destroy();
      onAbort = () => settle(false, end);
      socket.setTimeout(timeoutMs, () => settle(false, end));
      socket.once('connect', () => (isSelfConnected(socket) ? settle(false, end) : settle(true, () => closeGently(socket))));
      socket.on('error', () => settle(false, end));
    } else {
      const req = request({ host, port: check.port, path: check.path, method: 'GET', agent: false, timeout: timeoutMs, headers: { connection: 'close' } });
      const end = (): void => void req.destroy();
      onAbort = () => settle(false, end);
      req.once('socket', (socket) => socket.once('connect', () => isSelfConnected(socket) && settle(false, end)));
      req.once('response', (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        settle(status >= 200 && status < 400, end);
      });
      req.once('timeout', () => settle(false, end));
      req.on('error', () => settle(false, end));
      req.end();
    }
    check.signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * True when a probe reached itself, not a service. A connect to a loopback port nobody listens
 * on, when that port is in the ephemeral range (as a worker-picked port is), may be given the same
 * port as its source, and TCP's simultaneous open then connects the socket to itself. Taken for
 * an answer, it reported a service ready that was not listening yet, and it held the port, so the
 * service's own listen then failed (EADDRINUSE) and it crash-looped: a rollout under load saw
 * ready replicas drop.
 */
export function isSelfConnected(socket: Socket): boolean {
  return socket.localPort === socket.remotePort && socket.localAddress === socket.remoteAddress;
}

/**
 * Hangs up as a polite client does: FIN, then read and drop whatever the service sends until it
 * closes too. Destroying a socket with unread data sends a RST instead, and a service whose
 * connection handler has no 'error' listener (a one-line `net.createServer`) dies of that
 * ECONNRESET: the probe that declared it ready crashed it, over and over under load.
 */
function closeGently(socket: Socket): void {
  socket.setTimeout(GENTLE_CLOSE_MS, () => socket.destroy());
  socket.on('data', () => undefined);
  socket.end();
}

/** How long a probe waits for the service to close its side before it gives up and resets. */
const GENTLE_CLOSE_MS = 5_000;
