import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, getToken, setToken } from './api.js';
import { loadPermissions, useCan, useIdentityLabel } from './permissions.js';
import { useRoute } from './hooks.js';
import { AgentRunPage, AgentRuns } from './pages/agents.js';
import { Approvals } from './pages/approvals.js';
import { Builder } from './pages/builder.js';
import { DagPage, Dags } from './pages/dags.js';
import { JobPageView } from './pages/job.js';
import { Jobs } from './pages/jobs.js';
import { Inference } from './pages/inference.js';
import { Overview } from './pages/overview.js';
import { Dlq, Schedules, Services } from './pages/resources.js';
import { Audit } from './pages/audit.js';
import { Tokens } from './pages/tokens.js';
import './style.css';

/** The pages, and the permission a page needs to be listed (the audit ledger and tokens are for admins). */
const NAV: readonly (readonly [string, string, 'admin'?])[] = [
  ['', 'Overview'],
  ['jobs', 'Jobs'],
  ['dags', 'DAGs'],
  ['approvals', 'Approvals'],
  ['services', 'Services'],
  ['schedules', 'Schedules'],
  ['dlq', 'DLQ'],
  ['agents', 'Agent runs'],
  ['inference', 'Inference'],
  ['builder', 'Builder'],
  ['audit', 'Audit', 'admin'],
  ['tokens', 'Tokens', 'admin'],
];

/** Asks for the cluster token (the master prints it; it is also the data dir's `token` file). */
function TokenForm({ failed }: { failed: boolean }) {
  const [value, setValue] = useState('');
  return (
    <form
      class="token"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(value.trim());
      }}
    >
      <h1>Titan</h1>
      <p>
        {failed ? 'That token was refused. ' : ''}Enter an API token (<code>titan token create</code>) or the cluster token (printed by <code>titan up</code>,
        stored in the master's data dir as <code>token</code>).
      </p>
      <input
        type="password"
        autoFocus
        placeholder="cluster token"
        value={value}
        onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        data-testid="token-input"
      />
      <button type="submit" class="primary" data-testid="token-submit">
        Connect
      </button>
    </form>
  );
}

function Page({ route }: { route: string[] }) {
  const [section, id] = route;
  switch (section) {
    case undefined:
      return <Overview />;
    case 'jobs':
      return id !== undefined ? <JobPageView id={id} /> : <Jobs />;
    case 'dags':
      return id !== undefined ? <DagPage id={id} /> : <Dags />;
    case 'approvals':
      return <Approvals />;
    case 'services':
      return <Services />;
    case 'schedules':
      return <Schedules />;
    case 'dlq':
      return <Dlq />;
    case 'builder':
      return <Builder />;
    case 'agents':
      return id !== undefined ? <AgentRunPage id={id} /> : <AgentRuns />;
    case 'inference':
      return <Inference />;
    case 'audit':
      return <Audit />;
    case 'tokens':
      return <Tokens />;
    default:
      return (
        <p class="page">
          No page {section}. <a href="#/">Overview</a>
        </p>
      );
  }
}

function App() {
  const [token, setTokenState] = useState(getToken());
  const [refused, setRefused] = useState(false);
  const route = useRoute();
  useEffect(() => {
    const onToken = (): void => {
      const next = getToken();
      if (next === null && token !== null) setRefused(true);
      setTokenState(next);
    };
    window.addEventListener('titan-token', onToken);
    return () => window.removeEventListener('titan-token', onToken);
  }, [token]);
  useEffect(() => {
    if (token !== null)
      api('/api/v1/cluster').then(
        () => setRefused(false),
        () => undefined,
      );
    if (token !== null) loadPermissions().catch(() => undefined);
  }, [token]);
  const identity = useIdentityLabel();
  const isAdmin = useCan('admin');
  if (token === null) return <TokenForm failed={refused} />;
  return (
    <div class="app">
      <nav>
        <div class="brand">Titan</div>
        {NAV.filter(([, , needs]) => needs === undefined || isAdmin).map(([path, label]) => (
          <a key={path} href={`#/${path}`} class={(route[0] ?? '') === path ? 'active' : ''} data-testid={`nav-${path === '' ? 'overview' : path}`}>
            {label}
          </a>
        ))}
        <button class="link signout" onClick={() => setToken(null)}>
          Forget token
        </button>
        {identity !== null ? (
          <div class="identity" data-testid="identity">
            {identity}
          </div>
        ) : null}
      </nav>
      <main>
        <Page route={route} />
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
