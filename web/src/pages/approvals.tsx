import { api, post } from '../api.js';
import { Action, Card, Empty, ErrorLine } from '../components/ui.js';
import { duration, time } from '../format.js';
import { useLoad, useReloadOn } from '../hooks.js';
import type { ApprovalView } from '../types.js';

/**
 * Everything waiting for a person, oldest first: jobs awaiting approval (and the gates the master
 * inserts for `hitl_message`) and gates of the original Titan SDK waiting in the KV store
 * (`hitl:<id>`, decided by writing APPROVED or REJECTED to their status key).
 */
export function Approvals() {
  const pending = useLoad(() => api<{ approvals: ApprovalView[] }>('/api/v1/approvals'), [], 2000);
  useReloadOn((e) => e.from === 'pending' || e.to === 'pending', pending.reload, [], 300);
  const decide = (ref: string, verb: 'approve' | 'reject') => () =>
    post(
      `/api/v1/approvals/${encodeURIComponent(ref)}/${verb}`,
      verb === 'approve' ? { by: 'dashboard' } : { by: 'dashboard', reason: 'rejected in the dashboard' },
    ).then(pending.reload);
  return (
    <div class="page">
      <h1>Approvals</h1>
      <ErrorLine error={pending.error} />
      <Card title="Waiting for a decision">
        {pending.data === undefined ? (
          <Empty>loading…</Empty>
        ) : pending.data.approvals.length === 0 ? (
          <Empty>Nothing waits for a decision.</Empty>
        ) : (
          <table data-testid="approvals">
            <thead>
              <tr>
                <th>Waiting</th>
                <th>Kind</th>
                <th>Message</th>
                <th>Age</th>
                <th>Expires</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {pending.data.approvals.map((a) => (
                <tr key={a.ref} data-approval={a.ref}>
                  <td class="mono">{a.jobId !== null ? <a href={`#/jobs/${encodeURIComponent(a.jobId)}`}>{a.ref}</a> : a.ref}</td>
                  <td>{a.kind === 'job' ? 'Titan approval' : 'SDK gate (KV)'}</td>
                  <td>{a.message}</td>
                  <td data-testid="approval-age">{duration(a.ageMs)}</td>
                  <td>{a.expiresAt !== null ? time(a.expiresAt) : '-'}</td>
                  <td>
                    <Action label="Approve" kind="primary" testId={`approve-${a.ref}`} needs="approve" run={decide(a.ref, 'approve')} />{' '}
                    <Action label="Reject" kind="danger" testId={`reject-${a.ref}`} needs="approve" run={decide(a.ref, 'reject')} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}
