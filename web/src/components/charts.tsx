import type { MinuteBucket } from '../types.js';

const W = 560;
const H = 140;
const PAD = 24;

/** Jobs finished per minute over the last hour, succeeded and failed stacked. */
export function ThroughputChart({ minutes }: { minutes: readonly MinuteBucket[] }) {
  const max = Math.max(1, ...minutes.map((m) => m.succeeded + m.failed));
  const bar = (W - PAD) / Math.max(1, minutes.length);
  const y = (n: number): number => ((H - PAD) * n) / max;
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="jobs finished per minute, last hour" data-testid="throughput-chart">
      <text x={2} y={12} class="axis">
        {max}/min
      </text>
      <line x1={PAD} y1={H - PAD} x2={W} y2={H - PAD} class="axis-line" />
      {minutes.map((m, i) => (
        <g key={m.at}>
          <rect x={PAD + i * bar} y={H - PAD - y(m.succeeded)} width={bar - 1} height={y(m.succeeded)} fill="#27ab83">
            <title>{`${new Date(m.at).toLocaleTimeString()}: ${m.succeeded} succeeded, ${m.failed} failed`}</title>
          </rect>
          <rect x={PAD + i * bar} y={H - PAD - y(m.succeeded) - y(m.failed)} width={bar - 1} height={y(m.failed)} fill="#e12d39" />
        </g>
      ))}
      <text x={PAD} y={H - 6} class="axis">
        -60 min
      </text>
      <text x={W - 30} y={H - 6} class="axis">
        now
      </text>
    </svg>
  );
}

/** Share of finished jobs that failed, per minute (gaps where nothing finished). */
export function FailureChart({ minutes }: { minutes: readonly MinuteBucket[] }) {
  const step = (W - PAD) / Math.max(1, minutes.length - 1);
  const points = minutes
    .map((m, i) => {
      const total = m.succeeded + m.failed;
      return total === 0 ? null : `${PAD + i * step},${H - PAD - ((H - PAD - 8) * m.failed) / total}`;
    })
    .filter((p): p is string => p !== null);
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="failure rate per minute, last hour" data-testid="failure-chart">
      <text x={2} y={12} class="axis">
        100%
      </text>
      <text x={2} y={H - PAD} class="axis">
        0%
      </text>
      <line x1={PAD} y1={H - PAD} x2={W} y2={H - PAD} class="axis-line" />
      <polyline points={points.join(' ')} fill="none" stroke="#e12d39" stroke-width={2} />
      {points.map((p) => (
        <circle key={p} cx={Number(p.split(',')[0])} cy={Number(p.split(',')[1])} r={2.5} fill="#e12d39" />
      ))}
      <text x={PAD} y={H - 6} class="axis">
        -60 min
      </text>
      <text x={W - 30} y={H - 6} class="axis">
        now
      </text>
    </svg>
  );
}
