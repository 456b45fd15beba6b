import { useState } from 'preact/hooks';
import { api, post } from '../api.js';
import { Action, Card, Empty, ErrorLine } from '../components/ui.js';
import { ago, time } from '../format.js';
import { useLoad } from '../hooks.js';
import { useCan } from '../permissions.js';
import type { TokenCreateReply, TokenView } from '../types.js';

const TTLS: readonly [string, number | null][] = [
  ['never', null],
  ['1 hour', 3_600],
  ['1 day', 86_400],
  ['30 days', 2_592_000],
  ['90 days', 7_776_000],
];

function stateOf(t: TokenView, now: number): string {
  if (t.revokedAt !== null) return `revoked ${ago(t.revokedAt)}`;
  return t.expiresAt !== null && now >= t.expiresAt ? `expired ${ago(t.expiresAt)}` : 'live';
}

/** Makes a token and shows its secret this once: the master never shows it again. */
function CreateToken({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [namespace, setNamespace] = useState('');
  const [ttl, setTtl] = useState<number | null>(null);
  const [made, setMade] = useState<TokenCreateReply | null>(null);
  const create = (): Promise<unknown> =>
    post<TokenCreateReply>('/api/v1/tokens', {
      name: name.trim(),
      role,
      ...(namespace.trim() !== '' ? { namespace: namespace.trim() } : {}),
      ...(ttl !== null ? { ttlSeconds: ttl } : {}),
    }).then((reply) => {
      setMade(reply);
      setName('');
      onCreated();
    });
  return (
    <Card title="New token">
      <div class="filters">
        <input placeholder="name, e.g. ci" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} data-testid="token-name" />
        <select value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)} data-testid="token-role">
          {['viewer', 'operator', 'admin'].map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
        <input placeholder="namespace (optional)" value={namespace} onInput={(e) => setNamespace((e.target as HTMLInputElement).value)} />
        <select
          value={String(ttl)}
          onChange={(e) => setTtl(TTLS.find(([, s]) => String(s) === (e.target as HTMLSelectElement).value)?.[1] ?? null)}
          data-testid="token-ttl"
        >
          {TTLS.map(([label, seconds]) => (
            <option key={label} value={String(seconds)}>{`expires: ${label}`}</option>
          ))}
        </select>
        <Action label="Create" kind="primary" testId="token-create" needs="admin" run={create} />
      </div>
      {made !== null ? (
        <p class="verdict ok" data-testid="token-secret">
          Token {made.info.name} ({made.info.role}): <code>{made.token}</code>. Copy it now: it is shown this once.
        </p>
      ) : null}
    </Card>
  );
}

/** API tokens (admin): who holds what role, when each was last used and expires; create and revoke. */
export function Tokens() {
  const isAdmin = useCan('admin');
  const [all, setAll] = useState(false);
  const tokens = useLoad(
    () => (isAdmin ? api<{ tokens: TokenView[] }>(`/api/v1/tokens?all=${String(all)}`) : Promise.resolve({ tokens: [] })),
    [isAdmin, all],
    10_000,
  );
  if (!isAdmin) return <p class="page">API tokens are for admins: sign in with an admin token.</p>;
  const now = Date.now();
  return (
    <div class="page">
      <h1>API tokens</h1>
      <CreateToken onCreated={tokens.reload} />
      <ErrorLine error={tokens.error} />
      <Card
        title="Tokens"
        actions={
          <label>
            <input type="checkbox" checked={all} onChange={(e) => setAll((e.target as HTMLInputElement).checked)} /> include revoked
          </label>
        }
      >
        {tokens.data === undefined ? (
          <Empty>loading…</Empty>
        ) : tokens.data.tokens.length === 0 ? (
          <Empty>No API tokens yet: everyone uses the cluster token.</Empty>
        ) : (
          <table data-testid="tokens">
            <thead>
              <tr>
                <th>Name</th>
                <th>Role</th>
                <th>Namespace</th>
                <th>Created</th>
                <th>Last used</th>
                <th>Expires</th>
                <th>State</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {tokens.data.tokens.map((t) => (
                <tr key={t.id} data-token={t.name}>
                  <td class="mono">{t.name}</td>
                  <td>{t.role}</td>
                  <td>{t.namespace ?? '-'}</td>
                  <td>{time(t.createdAt)}</td>
                  <td>{t.lastUsedAt !== null ? ago(t.lastUsedAt) : 'never'}</td>
                  <td>{t.expiresAt !== null ? `${time(t.expiresAt)} (${new Date(t.expiresAt).toLocaleDateString()})` : 'never'}</td>
                  <td data-testid={`token-state-${t.name}`}>{stateOf(t, now)}</td>
                  <td>
                    {t.revokedAt === null ? (
                      <Action
                        label="Revoke"
                        kind="danger"
                        testId={`revoke-${t.name}`}
                        needs="admin"
                        run={() => api(`/api/v1/tokens/${encodeURIComponent(t.id)}`, { method: 'DELETE' }).then(tokens.reload)}
                      />
                    ) : null}
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
