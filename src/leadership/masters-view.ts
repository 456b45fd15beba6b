import type { MasterEntryView, MastersView } from '../protocol/views.js';
import type { SeenMasterRow } from './pg-masters.js';

const ORDER: Record<MasterEntryView['role'], number> = { leader: 0, standby: 1, gone: 2 };

/**
 * The masters as the leader `self` (leading under `epoch`) shows them. It is the leader whatever
 * its row says (the row may predate its election); another row still saying `leader` is a master
 * that lost the lease and is on its way back to standby, so it is shown as one.
 */
export function mastersView(self: string, epoch: number, rows: readonly SeenMasterRow[], goneAfterMs: number): MastersView {
  const masters = rows.map((row): MasterEntryView => {
    const role = row.name === self ? 'leader' : row.seenMsAgo > goneAfterMs ? 'gone' : 'standby';
    return { name: row.name, tcp: row.tcp, http: row.http, role, epoch: row.name === self ? epoch : row.epoch, lastSeenMsAgo: row.seenMsAgo };
  });
  masters.sort((a, b) => ORDER[a.role] - ORDER[b.role] || a.lastSeenMsAgo - b.lastSeenMsAgo || a.name.localeCompare(b.name));
  return { epoch, leader: self, masters };
}
