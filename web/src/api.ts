/** The dashboard's only way to the master: JSON over /api/v1 and SSE, with the token from localStorage. */

const TOKEN_KEY = 'titan.token';

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token === null) localStorage.removeItem(TOKEN_KEY);
  else localStorage.setItem(TOKEN_KEY, token);
  window.dispatchEvent(new Event('titan-token'));
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function headers(json: boolean): Record<string, string> {
  const token = getToken();
  return { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(json ? { 'content-type': 'application/json' } : {}) };
}

async function failure(res: Response): Promise<ApiError> {
  let code = 'E_HTTP';
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { code?: string; error?: string };
    code = body.code ?? code;
    message = body.error ?? message;
  } catch {
    // not JSON: keep the status line
  }
  if (res.status === 401) setToken(null);
  return new ApiError(res.status, code, message);
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers: headers(init.body !== undefined),
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export const post = <T>(path: string, body: unknown = {}): Promise<T> => api<T>(path, { method: 'POST', body });

export interface SseHandlers {
  onEvent(event: string, data: unknown, id: string | null): void;
  onState?(state: 'open' | 'retrying'): void;
}

/**
 * Follows an SSE route with fetch (so the token travels in a header, never in a URL), and
 * reconnects after a drop sending Last-Event-ID, so nothing is missed or repeated. Returns a
 * function that stops it.
 */
export function follow(path: string, handlers: SseHandlers): () => void {
  const controller = new AbortController();
  let lastId: string | null = null;
  const run = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      try {
        const res = await fetch(path, { headers: { ...headers(false), ...(lastId !== null ? { 'last-event-id': lastId } : {}) }, signal: controller.signal });
        if (!res.ok || res.body === null) throw await failure(res);
        handlers.onState?.('open');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        let ended = false;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let event = 'message';
            let data = '';
            let id: string | null = null;
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
              else if (line.startsWith('id: ')) id = line.slice(4);
            }
            if (data === '') continue;
            if (id !== null) lastId = id;
            if (event === 'end') ended = true;
            handlers.onEvent(event, JSON.parse(data), id);
          }
        }
        if (ended) return;
      } catch (err) {
        if (controller.signal.aborted) return;
        if (err instanceof ApiError && (err.status === 401 || err.status === 404)) return;
      }
      handlers.onState?.('retrying');
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  void run();
  return () => controller.abort();
}

/** Saves a job's whole log as a file (the download needs the token, so it goes through fetch). */
export async function downloadLog(jobId: string): Promise<void> {
  const res = await fetch(`/api/v1/jobs/${encodeURIComponent(jobId)}/logs/download`, { headers: headers(false) });
  if (!res.ok) throw await failure(res);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `${jobId}.log`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
