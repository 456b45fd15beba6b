import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Action, Card, Empty, ErrorLine } from '../components/ui.js';
import { time } from '../format.js';
import { useLoad } from '../hooks.js';
import { useCan } from '../permissions.js';
import type { AuditRecordView, AuditVerifyReply } from '../types.js';

/** Refusals and failures stand out; `received` rows are a change's first row, its outcome follows. */
function tone(result: string): string {
  return result.startsWith('denied') || result.startsWith('error') ? 'bad' : '';
}

function Verdict({ verdict }: { verdict: AuditVerifyReply }) {
  return verdict.ok ? (
    <p class="verdict ok" data-testid="audit-verdict">
      Chain intact: {verdict.rows} rows, head {verdict.head.slice(0, 16)}…
    </p>
  ) : (
    <p class="verdict bad" data-testid="audit-verdict">
      Chain broken{verdict.seq !== null ? ` at row ${verdict.seq}` : ''}: {verdict.problem}
    </p>
  );
}

/** The audit ledger (admin): who did what, from where, with what result; and a check of its hash chain. */
export function Audit() {
  const isAdmin = useCan('admin');
  const [filter, setFilter] = useState('');
  const [verdict, setVerdict] = useState<AuditVerifyReply | null>(null);
  const records = useLoad(() => (isAdmin ? api<{ records: AuditRecordView[] }>('/api/v1/audit?limit=500') : Promise.resolve({ records: [] })), [isAdmin], 5000);
  if (!isAdmin)
    return (
      <p class="page">
        The audit ledger is for admins: sign in with an admin token (<code>titan token create --role admin</code>).
      </p>
    );
  const needle = filter.trim().toLowerCase();
  const shown = (records.data?.records ?? []).filter(
    (r) => needle === '' || [r.who, r.action, r.target, r.source, r.result].some((f) => f.toLowerCase().includes(needle)),
  );
  return (
    <div class="page">
      <h1>Audit ledger</h1>
      <div class="filters">
        <input
          type="search"
          placeholder="filter: who, action, target, source, result"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
          data-testid="audit-filter"
          class="wide"
        />
        <Action label="Verify chain" testId="audit-verify" needs="admin" run={() => api<AuditVerifyReply>('/api/v1/audit/verify').then(setVerdict)} />
      </div>
      {verdict !== null ? <Verdict verdict={verdict} /> : null}
      <ErrorLine error={records.error} />
      <Card title="Newest 500">
        {records.data === undefined ? (
          <Empty>loading…</Empty>
        ) : shown.length === 0 ? (
          <Empty>No row matches.</Empty>
        ) : (
          <table data-testid="audit">
            <thead>
              <tr>
                <th>#</th>
                <th>At</th>
                <th>Who</th>
                <th>Role</th>
                <th>Action</th>
                <th>Target</th>
                <th>Source</th>
                <th>Result</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((r) => (
                <tr key={r.seq} data-seq={r.seq} class={tone(r.result)}>
                  <td>{r.seq}</td>
                  <td>{time(r.at)}</td>
                  <td class="mono">{r.who}</td>
                  <td>{r.role}</td>
                  <td class="mono">{r.action}</td>
                  <td class="mono why">{r.target}</td>
                  <td class="mono">{r.source}</td>
                  <td class="why">{r.result}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}
