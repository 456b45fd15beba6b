import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { STATE_COLOURS } from '../format.js';
import { useCan, type Permission } from '../permissions.js';

export function Badge({ state, label }: { state: string; label?: string }) {
  return (
    <span class="badge" data-state={state} style={{ background: STATE_COLOURS[state] ?? '#7b8794' }}>
      {label ?? state}
    </span>
  );
}

export function Card({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card">
      <header>
        <h2>{title}</h2>
        <div class="actions">{actions}</div>
      </header>
      {children}
    </section>
  );
}

export function ErrorLine({ error }: { error: string | null }) {
  return error === null ? null : (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

/**
 * A button that runs an action, shows it is busy, and reports the action's error next to it.
 * With `needs`, it is shown only to a token whose role grants that permission; with `blockedBy`, it
 * is disabled and says why on hover.
 */
export function Action({
  label,
  run,
  kind,
  testId,
  needs,
  blockedBy,
}: {
  label: string;
  run: () => Promise<unknown>;
  kind?: 'danger' | 'primary';
  testId?: string;
  needs?: Permission;
  blockedBy?: string | null;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!useCan(needs)) return null;
  return (
    <span class="action">
      <button
        class={kind ?? ''}
        disabled={busy || (blockedBy ?? null) !== null}
        title={blockedBy ?? undefined}
        data-testid={testId}
        onClick={() => {
          setBusy(true);
          setError(null);
          run().then(
            () => setBusy(false),
            (err: Error) => (setBusy(false), setError(err.message)),
          );
        }}
      >
        {label}
      </button>
      {error !== null ? <span class="error">{error}</span> : null}
    </span>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}
