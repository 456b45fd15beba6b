import type { MastersView } from '../protocol/views.js';

/** What a master leading a cluster of masters on one PostgreSQL knows of it (docs/HA.md). */
export interface ClusterSeat {
  /** The lease epoch it leads under. */
  readonly epoch: number;
  /** Every master that announced itself, as this leader sees them. */
  masters(): Promise<MastersView>;
}
