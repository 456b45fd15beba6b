import type { MastersView } from '../protocol/views.js';
import { duration, table } from './format.js';

/** `titan stats`' masters part: the epoch, then one master a line, the leader first. */
export function mastersText(view: MastersView): string {
  const rows = view.masters.map((m) => [
    m.name,
    m.role,
    m.epoch === null ? '-' : String(m.epoch),
    m.tcp ?? '-',
    m.http ?? '-',
    `${duration(m.lastSeenMsAgo)} ago`,
  ]);
  return `masters: epoch ${view.epoch}, leader ${view.leader}\n${table(['MASTER', 'ROLE', 'EPOCH', 'TCP', 'HTTP', 'LAST_SEEN'], rows)}\n`;
}
