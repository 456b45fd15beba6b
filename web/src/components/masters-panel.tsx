import type { MastersView } from '../types.js';
import { duration } from '../format.js';
import { Badge, Card } from './ui.js';

/** A replicated cluster's masters (docs/HA.md): the leader and its epoch, the standbys, those gone. Nothing for a single master. */
export function MastersPanel({ view }: { view: MastersView | undefined }) {
  if (view === undefined || view.masters.length < 2) return null;
  return (
    <Card title={`Masters (epoch ${view.epoch})`}>
      <table data-testid="masters">
        <thead>
          <tr>
            <th>Master</th>
            <th>Role</th>
            <th>Epoch</th>
            <th>Address</th>
            <th>HTTP</th>
            <th>Seen</th>
          </tr>
        </thead>
        <tbody>
          {view.masters.map((m) => (
            <tr key={m.name} data-master={m.name} data-role={m.role}>
              <td>{m.name}</td>
              <td>
                <Badge state={m.role} />
              </td>
              <td>{m.epoch ?? '-'}</td>
              <td>{m.tcp ?? '-'}</td>
              <td>{m.http ?? '-'}</td>
              <td>{duration(m.lastSeenMsAgo)} ago</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}
