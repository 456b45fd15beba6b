import type pg from 'pg';

/**
 * The lease row's three operations, each one statement or one short transaction on the caller's
 * connection. Expiry is the database's clock (now()), so masters' clocks need not agree.
 */

/**
 * Takes the lease when it is free, expired or orphaned (see contendForLease), with the next epoch. The row is locked FOR UPDATE
 * first: that waits for every write transaction still holding its KEY SHARE lock under the old
 * epoch (pg-pool.ts), so no write of the previous leader can commit after the new epoch exists.
 * Returns the new epoch, or null while another holder's lease is live.
 */
export async function tryAcquireLease(client: pg.ClientBase, holder: string, ttlMs: number): Promise<number | null> {
  return (await contendForLease(client, holder, ttlMs)).epoch;
}

/**
 * The lease as a standby sees it, read without a lock (so a standby's polling never queues behind
 * the leader's writes). `orphaned`: the holder's lease session is gone from the server, which
 * happens when the holder's process died (or its connection was cut, which makes it step down).
 */
const PEEK = `SELECT holder, epoch, expires_at > now() AS live,
  backend_pid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = leader_lease.backend_pid) AS orphaned
  FROM leader_lease WHERE name = 'leader'`;

/**
 * tryAcquireLease, also saying who holds the lease when it was not taken (a standby names the
 * leader from it). The lease is taken when it is free, expired, or orphaned: a holder that was
 * SIGKILLed is replaced as soon as its session ends rather than when its lease runs out, while a
 * stopped or cut-off holder, whose session the server still has, is waited out as before.
 */
export async function contendForLease(client: pg.ClientBase, holder: string, ttlMs: number): Promise<{ epoch: number | null; current: LeaseRow }> {
  const peeked = (await client.query<LeaseRow & { orphaned: boolean }>(PEEK)).rows[0];
  if (peeked !== undefined && peeked.live && !peeked.orphaned) return { epoch: null, current: leaseRow(peeked) };
  await client.query('BEGIN');
  try {
    const { rows } = await client.query<LeaseRow & { backend_pid: number | null }>(
      "SELECT holder, epoch, expires_at > now() AS live, backend_pid FROM leader_lease WHERE name = 'leader' FOR UPDATE",
    );
    const locked = rows[0] ?? { holder: null, epoch: 0, live: false, backend_pid: null };
    // Read after the row lock was granted, in a transaction whose view of the server's sessions starts here.
    if (locked.live && !(await sessionGone(client, locked.backend_pid))) {
      await client.query('ROLLBACK');
      return { epoch: null, current: leaseRow(locked) };
    }
    const updated = await client.query<{ epoch: number }>(
      `UPDATE leader_lease SET holder = $1, epoch = epoch + 1, expires_at = now() + $2 * interval '1 millisecond', backend_pid = pg_backend_pid()
       WHERE name = 'leader' RETURNING epoch`,
      [holder, ttlMs],
    );
    await client.query('COMMIT');
    const epoch = updated.rows[0]?.epoch ?? null;
    return { epoch, current: { holder, epoch: epoch ?? locked.epoch, live: epoch !== null } };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function sessionGone(client: pg.ClientBase, backendPid: number | null): Promise<boolean> {
  if (backendPid === null) return false;
  const { rows } = await client.query<{ gone: boolean }>('SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1) AS gone', [backendPid]);
  return rows[0]?.gone === true;
}

function leaseRow(row: LeaseRow): LeaseRow {
  return { holder: row.holder, epoch: Number(row.epoch), live: row.live };
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
