/** Small formatters shared by the pages. */

export function ago(ms: number | null, now = Date.now()): string {
  if (ms === null) return '-';
  return `${duration(now - ms)} ago`;
}

export function duration(ms: number | null): string {
  if (ms === null || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h ${m % 60}m` : `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function time(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toLocaleTimeString();
}

export function runtime(job: { startedAt: number | null; finishedAt: number | null }): string {
  if (job.startedAt === null) return '-';
  return duration((job.finishedAt ?? Date.now()) - job.startedAt);
}

/** The question a job held at an approval gate waits on, or null when it is not held at one. */
export function approvalQuestion(job: { readonly state: string; readonly reason: string | null }): string | null {
  if (job.state !== 'pending') return null;
  const held = /^awaiting approval: (.*?)(?:; approve with `.*)?$/.exec(job.reason ?? '');
  return held === null ? null : (held[1] ?? '');
}

export function memory(mb: number): string {
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)} GiB` : `${Math.round(mb)} MiB`;
}

/** The colour of a state, everywhere: table badges, graph nodes, charts. */
export const STATE_COLOURS: Record<string, string> = {
  pending: '#9aa5b1',
  queued: '#7b8794',
  assigned: '#4098d7',
  running: '#2680c2',
  succeeded: '#27ab83',
  failed: '#e12d39',
  dead: '#9b1c1c',
  cancelled: '#b0834d',
  skipped: '#c4c4c4',
  stopped: '#616e7c',
  restarting: '#f0b429',
  requeued: '#f0b429',
  healthy: '#27ab83',
  suspect: '#f0b429',
  draining: '#f0b429',
  degraded: '#f0b429',
  'half-open': '#de911d',
  offline: '#9b1c1c',
  'breaker-closed': '#27ab83',
  'breaker-half-open': '#de911d',
  leader: '#2680c2',
  standby: '#7b8794',
  gone: '#9b1c1c',
  'breaker-open': '#e12d39',
};
