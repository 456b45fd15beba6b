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

type FeedListener = (event: FeedEvent) => void;
const listeners = new Set<FeedListener>();
let stopFeed: (() => void) | null = null;

/** One shared connection to /api/v1/events for the whole page; pages subscribe to it. */
export function useFeed(listener: FeedListener, deps: readonly unknown[]): void {
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => {
    const wrapped: FeedListener = (e) => ref.current(e);
    listeners.add(wrapped);
    stopFeed ??= follow('/api/v1/events', { onEvent: (event, data) => event === 'job' && listeners.forEach((l) => l(data as FeedEvent)) });
    return () => {
      listeners.delete(wrapped);
      if (listeners.size === 0 && stopFeed !== null) {
        stopFeed();
        stopFeed = null;
      }
    };
  }, deps);
}

/** Calls `reload` at most every `ms` while `matching` feed events arrive: lists stay live without a storm of requests. */
export function useReloadOn(matching: (event: FeedEvent) => boolean, reload: () => void, deps: readonly unknown[], ms = 300): void {
  const pending = useRef<number | null>(null);
  useFeed((event) => {
    if (!matching(event) || pending.current !== null) return;
    pending.current = window.setTimeout(() => {
      pending.current = null;
      reload();
    }, ms);
  }, deps);
  useEffect(() => () => {
    if (pending.current !== null) clearTimeout(pending.current);
  }, []);
}

/** The current hash route, e.g. ['jobs', 'abc'] for #/jobs/abc. */
export function useRoute(): string[] {
  const read = (): string[] => window.location.hash.replace(/^#\/?/, '').split('?')[0]!.split('/').filter((p) => p !== '').map(decodeURIComponent);
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
