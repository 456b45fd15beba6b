import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, TOKEN, until } from './harness.js';

interface SseEvent {
  id: string | null;
  event: string;
  data: unknown;
}

/** Reads a Server-Sent Events response until `stop` says so or the deadline passes; aborts the request after. */
async function readSse(url: string, stop: (events: SseEvent[]) => boolean, headers: Record<string, string> = {}, timeoutMs = 15_000): Promise<SseEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}`, ...headers }, signal: controller.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const fields = new Map(
          block
            .split('\n')
            .filter((l) => !l.startsWith(':') && l.includes(': '))
            .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]),
        );
        if (!fields.has('data')) continue;
        events.push({ id: fields.get('id') ?? null, event: fields.get('event') ?? 'message', data: JSON.parse(fields.get('data')!) });
      }
      if (stop(events)) break;
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
    throw new Error(`the stream did not deliver what was expected within ${timeoutMs} ms; got ${JSON.stringify(events).slice(0, 500)}`);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

describe('live events and logs over Server-Sent Events', () => {
  const cluster = new Cluster();
  const url = (path: string): string => `http://127.0.0.1:${cluster.httpPort}${path}`;
  const post = async (path: string, body: unknown): Promise<{ jobId: string }> =>
    (await (
      await fetch(url(path), { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    ).json()) as { jobId: string };

  before(async () => {
    await cluster.startMaster();
    await cluster.startWorker('w1');
  });
  after(() => cluster.close());

  test('a log stream delivers lines while the job prints, and a reconnect with Last-Event-ID resumes without gaps or repeats', async () => {
    const { jobId } = await post('/api/v1/jobs', {
      name: 'printer',
      run: { kind: 'command', command: 'for i in $(seq 1 40); do echo line-$i; sleep 0.05; done' },
    });
    const lines = (events: SseEvent[]): string[] => events.filter((e) => e.event === 'lines').flatMap((e) => (e.data as { line: string }[]).map((l) => l.line));
    const first = await readSse(url(`/api/v1/jobs/${jobId}/logs/stream`), (events) => lines(events).length >= 5);
    const firstLines = lines(first);
    const lastId = first.filter((e) => e.event === 'lines').at(-1)!.id!;
    const state = (await (await fetch(url(`/api/v1/jobs/${jobId}`), { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { job: { state: string } };
    assert.equal(state.job.state, 'running', 'the first lines arrived while the job was still printing');
    const rest = await readSse(url(`/api/v1/jobs/${jobId}/logs/stream`), (events) => events.some((e) => e.event === 'end'), { 'last-event-id': lastId });
    const all = [...firstLines, ...lines(rest)];
    assert.deepEqual(
      all,
      Array.from({ length: 40 }, (_, i) => `line-${i + 1}`),
    );
    const end = rest.find((e) => e.event === 'end')!.data as { state: string };
    assert.equal(end.state, 'succeeded');
  });

  test('a stream of a finished job replays its log from ?after= and ends', async () => {
    const { jobId } = await post('/api/v1/jobs', { name: 'short', run: { kind: 'command', command: 'echo a; echo b; echo c' } });
    await until(
      'the job to finish',
      async () =>
        ((await (await fetch(url(`/api/v1/jobs/${jobId}`), { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { job: { state: string } }).job
          .state === 'succeeded',
    );
    const page = (await (await fetch(url(`/api/v1/jobs/${jobId}/logs`), { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      lines: { seq: number }[];
    };
    const events = await readSse(url(`/api/v1/jobs/${jobId}/logs/stream?after=${page.lines[0]!.seq}`), (e) => e.some((x) => x.event === 'end'));
    assert.deepEqual(
      events.filter((e) => e.event === 'lines').flatMap((e) => (e.data as { line: string }[]).map((l) => l.line)),
      ['b', 'c'],
    );
  });

  test('the event stream carries job transitions live, and a reconnect replays what was missed', async () => {
    // after=0 replays the master's ring from its start, so the job's events are seen however the connect and the submit race.
    const events = readSse(url('/api/v1/events?after=0'), (e) =>
      e.some((x) => (x.data as { name?: string; to?: string }).name === 'evented' && (x.data as { to: string }).to === 'succeeded'),
    );
    const { jobId } = await post('/api/v1/jobs', { name: 'evented', run: { kind: 'command', command: 'true' } });
    const seen = (await events).filter((e) => e.event === 'job' && (e.data as { jobId: string }).jobId === jobId);
    const states = seen.map((e) => (e.data as { to: string }).to);
    assert.deepEqual(states.slice(-3), ['assigned', 'running', 'succeeded']);
    const firstId = Number(seen[0]!.id) - 1;
    const replay = await readSse(
      url('/api/v1/events'),
      (e) => e.some((x) => (x.data as { to?: string; jobId?: string }).jobId === jobId && (x.data as { to: string }).to === 'succeeded'),
      { 'last-event-id': String(firstId) },
    );
    assert.deepEqual(
      replay.filter((e) => (e.data as { jobId: string }).jobId === jobId).map((e) => (e.data as { to: string }).to),
      states,
    );
  });

  test('a stream of an unknown job is a 404 before any event', async () => {
    const res = await fetch(url('/api/v1/jobs/nope/logs/stream'), { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 404);
  });
});
