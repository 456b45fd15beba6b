import type pg from 'pg';

/**
 * The lease row's three operations, each one statement or one short transaction on the caller's
 * connection. Expiry is the database's clock (now()), so masters' clocks need not agree.
 */

/**
 * Takes the lease when it is free or expired, with the next epoch. The row is locked FOR UPDATE
 * first: that waits for every write transaction still holding its KEY SHARE lock under the old
 * epoch (pg-pool.ts), so no write of the previous leader can commit after the new epoch exists.
 * Returns the new epoch, or null while another holder's lease is live.
 */
export async function tryAcquireLease(client: pg.ClientBase, holder: string, ttlMs: number): Promise<number | null> {
  return (await contendForLease(client, holder, ttlMs)).epoch;
}

/** tryAcquireLease, also saying who holds the lease when it was not taken (a standby names the leader from it). */
export async function contendForLease(client: pg.ClientBase, holder: string, ttlMs: number): Promise<{ epoch: number | null; current: LeaseRow }> {
  await client.query('BEGIN');
  try {
    const { rows } = await client.query<LeaseRow>("SELECT holder, epoch, expires_at > now() AS live FROM leader_lease WHERE name = 'leader' FOR UPDATE");
    const current = rows[0] ?? { holder: null, epoch: 0, live: false };
    if (current.live) {
      await client.query('ROLLBACK');
      return { epoch: null, current };
    }
    const updated = await client.query<{ epoch: number }>(
      "UPDATE leader_lease SET holder = $1, epoch = epoch + 1, expires_at = now() + $2 * interval '1 millisecond' WHERE name = 'leader' RETURNING epoch",
      [holder, ttlMs],
    );
    await client.query('COMMIT');
    const epoch = updated.rows[0]?.epoch ?? null;
    return { epoch, current: { holder, epoch: epoch ?? current.epoch, live: epoch !== null } };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Extends the holder's lease; false when it is no longer this holder's (expired, or another epoch). */
export async function renewLease(client: pg.ClientBase, holder: string, epoch: number, ttlMs: number): Promise<boolean> {
  const { rowCount } = await client.query(
    `UPDATE leader_lease SET expires_at = now() + $3 * interval '1 millisecond'
     WHERE name = 'leader' AND holder = $1 AND epoch = $2 AND expires_at > now()`,
    [holder, epoch, ttlMs],
  );
  return rowCount === 1;
}

/** Ends the holder's lease now, so a standby need not wait for it to expire. The epoch stays. */
export async function releaseLease(client: pg.ClientBase, holder: string, epoch: number): Promise<void> {
  await client.query("UPDATE leader_lease SET expires_at = now() WHERE name = 'leader' AND holder = $1 AND epoch = $2 AND expires_at > now()", [holder, epoch]);
}

export interface LeaseRow {
  readonly holder: string | null;
  readonly epoch: number;
  readonly live: boolean;
}

/** Who holds the lease now (for status pages and tests). */
export async function readLease(db: Pick<pg.ClientBase, 'query'>): Promise<LeaseRow> {
  const { rows } = await db.query<LeaseRow>("SELECT holder, epoch, expires_at > now() AS live FROM leader_lease WHERE name = 'leader'");
  return rows[0] ?? { holder: null, epoch: 0, live: false };
}
