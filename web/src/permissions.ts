/**
 * What the token in use may do, from GET /api/v1/whoami. Actions that need a permission stay
 * hidden until it is known, so a viewer never sees a button the master would refuse.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';

export type Permission = 'submit' | 'cancel' | 'approve' | 'deploy' | 'write' | 'admin';

interface Whoami {
  readonly name: string;
  readonly role: string;
  readonly permissions: readonly string[];
}

let known: Whoami | null = null;
const EVENT = 'titan-permissions';

/** Asks the master who the current token is; call when the token changes. */
export function loadPermissions(): Promise<void> {
  known = null;
  window.dispatchEvent(new Event(EVENT));
  return api<Whoami>('/api/v1/whoami').then((me) => {
    known = me;
    window.dispatchEvent(new Event(EVENT));
  });
}

function useWhoami(): Whoami | null {
  const [, setTick] = useState(0);
  useEffect(() => {
    const onChange = (): void => setTick((n) => n + 1);
    window.addEventListener(EVENT, onChange);
    return () => window.removeEventListener(EVENT, onChange);
  }, []);
  return known;
}

export function useCan(permission: Permission | undefined): boolean {
  const me = useWhoami();
  if (permission === undefined) return true;
  return me !== null && me.permissions.includes(permission);
}

/** "name (role)" of the token in use, once known. */
export function useIdentityLabel(): string | null {
  const me = useWhoami();
  return me === null ? null : `${me.name} (${me.role})`;
}
