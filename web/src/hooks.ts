import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { follow } from './api.js';
import type { FeedEvent } from './types.js';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: string | null;
  readonly reload: () => void;
}

/** Loads with `fetcher`, again every `everyMs` (0: never) and on `reload()`; keeps the last good data on error. */
export function useLoad<T>(fetcher: () => Promise<T>, deps: readonly unknown[], everyMs = 0): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    fetcher().then(
      (value) => live && (setData(value), setError(null)),
      (err: Error) => live && setError(err.message),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  useEffect(() => {
    if (everyMs <= 0) return undefined;
    const timer = setInterval(reload, everyMs);
    return () => clearInterval(timer);
  }, [everyMs, reload]);
  useEffect(() => setData(undefined), deps);
  return { data, error, reload };
}

/** A job transition, or 'resync' when the stream (re)opened and something may have been missed. */
type FeedListener = (event: FeedEvent | 'resync') => void;
const listeners = new Set<FeedListener>();
let stopFeed: (() => void) | null = null;
let idleTimer: number | null = null;

/**
 * One shared connection to /api/v1/events for the whole page; pages subscribe to it. It stays
 * open for a moment after the last subscriber leaves, so moving between pages loses nothing, and
 * every (re)open tells subscribers to resync, covering what happened before it connected.
 */
function subscribe(listener: FeedListener): () => void {
  listeners.add(listener);
  if (idleTimer !== null) {
    clearTimeout(idleTimer);
    idleTimer = null;
  }
  stopFeed ??= follow('/api/v1/events', {
    onState: (state) => state === 'open' && listeners.forEach((l) => l('resync')),
    onEvent: (event, data) => {
      if (event === 'job') listeners.forEach((l) => l(data as FeedEvent));
      else if (event === 'reset') listeners.forEach((l) => l('resync'));
    },
  });
  return () => {
    listeners.delete(listener);
    if (listeners.size > 0 || idleTimer !== null) return;
    idleTimer = window.setTimeout(() => {
      idleTimer = null;
      if (listeners.size === 0 && stopFeed !== null) {
        stopFeed();
        stopFeed = null;
      }
    }, 5000);
  };
}

/** Calls `listener` for every job transition while the component is mounted. */
export function useFeed(listener: (event: FeedEvent) => void, deps: readonly unknown[]): void {
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => subscribe((e) => e !== 'resync' && ref.current(e)), deps);
}

/** Calls `reload` at most every `ms` while `matching` feed events arrive (and on a resync): lists stay live without a storm of requests. */
export function useReloadOn(matching: (event: FeedEvent) => boolean, reload: () => void, deps: readonly unknown[], ms = 300): void {
  const pending = useRef<number | null>(null);
  const match = useRef(matching);
  match.current = matching;
  const again = useRef(reload);
  again.current = reload;
  useEffect(() => {
    const stop = subscribe((event) => {
      if ((event !== 'resync' && !match.current(event)) || pending.current !== null) return;
      pending.current = window.setTimeout(() => {
        pending.current = null;
        again.current();
      }, ms);
    });
    return () => {
      stop();
      if (pending.current !== null) clearTimeout(pending.current);
      pending.current = null;
    };
  }, deps);
}

/**
 * Re-renders the component every `ms` while `active`: a running job's runtime counts up between
 * the fetches (which happen only when its state changes).
 */
export function useTicking(active: boolean, ms = 1000): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => setTick((t) => t + 1), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
}

/** The current hash route, e.g. ['jobs', 'abc'] for #/jobs/abc. */
export function useRoute(): string[] {
  const read = (): string[] =>
    window.location.hash
      .replace(/^#\/?/, '')
      .split('?')[0]!
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onHash = (): void => setRoute(read());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  return route;
}

export function navigate(path: string): void {
  window.location.hash = `#/${path}`;
}
