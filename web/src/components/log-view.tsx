import { useEffect, useRef, useState } from 'preact/hooks';
import { follow } from '../api.js';
import type { LogLineView } from '../types.js';

const ROW = 18;
const HEIGHT = 460;
const OVERSCAN = 20;

/**
 * A job's log, following it live (SSE, resumed by Last-Event-ID after a drop). Virtualised: the
 * lines live in a plain array and only the rows in view are in the DOM, so 100,000 lines scroll
 * as smoothly as 100. New lines are painted at most once per animation frame.
 */
export function LogView({ jobId }: { jobId: string }) {
  const lines = useRef<LogLineView[]>([]);
  const [count, setCount] = useState(0);
  const [scrollTop, setScrollTop] = useState(0);
  const [stick, setStick] = useState(true);
  const [status, setStatus] = useState('connecting');
  const box = useRef<HTMLDivElement>(null);
  const frame = useRef<number | null>(null);

  useEffect(() => {
    lines.current = [];
    setCount(0);
    setStatus('connecting');
    const stop = follow(`/api/v1/jobs/${encodeURIComponent(jobId)}/logs/stream`, {
      onState: (s) => setStatus(s === 'open' ? 'live' : 'reconnecting'),
      onEvent: (event, data) => {
        if (event === 'end') {
          setStatus(`ended (${(data as { state: string }).state})`);
          return;
        }
        if (event !== 'lines') return;
        for (const line of data as LogLineView[]) lines.current.push(line);
        frame.current ??= requestAnimationFrame(() => {
          frame.current = null;
          setCount(lines.current.length);
        });
      },
    });
    return () => {
      stop();
      if (frame.current !== null) cancelAnimationFrame(frame.current);
      frame.current = null;
    };
  }, [jobId]);

  useEffect(() => {
    if (stick && box.current !== null) box.current.scrollTop = box.current.scrollHeight;
  }, [count, stick]);

  const first = Math.max(0, Math.floor(scrollTop / ROW) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scrollTop + HEIGHT) / ROW) + OVERSCAN);
  const visible = lines.current.slice(first, last);
  return (
    <div class="log">
      <div class="log-status">
        <span data-testid="log-count" data-count={count}>
          {count.toLocaleString()} lines
        </span>{' '}
        · <span data-testid="log-status">{status}</span>
        <label>
          <input type="checkbox" checked={stick} onChange={(e) => setStick((e.target as HTMLInputElement).checked)} /> follow
        </label>
      </div>
      <div
        class="log-box"
        ref={box}
        style={{ height: `${HEIGHT}px` }}
        data-testid="log-box"
        onScroll={(e) => {
          const el = e.currentTarget;
          setScrollTop(el.scrollTop);
          const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW * 2;
          if (atBottom !== stick) setStick(atBottom);
        }}
      >
        <div style={{ height: `${count * ROW}px`, position: 'relative' }}>
          {visible.map((line, i) => (
            <div class={`log-line ${line.stream}`} key={line.seq} style={{ top: `${(first + i) * ROW}px`, height: `${ROW}px` }}>
              <span class="log-no">{first + i + 1}</span>
              {line.line}
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
