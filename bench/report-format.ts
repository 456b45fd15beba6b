/** The printed table's row and the small helpers its rows are built with. */
export type Status = 'PASS' | 'MISS' | 'n/a' | '—';

export interface Row {
  readonly metric: string;
  readonly value: string;
  readonly compared: string;
  readonly relation: string;
  readonly target: string;
  readonly status: Status;
}

export const fmt = (value: number | null, unit: string, digits = 2): string => (value === null ? 'n/a' : `${value.toFixed(digits)} ${unit}`);
export const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : a / b);
export const diff = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);
export const judge = (ok: boolean | null): Status => (ok === null ? 'n/a' : ok ? 'PASS' : 'MISS');

export function ratioText(r: number | null): string {
  return r === null ? 'n/a' : `${r.toFixed(2)}x`;
}
