import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server every machine of the project runs (trust auth); TITAN_TEST_PG_URL points elsewhere. */
export const TEST_PG_URL = process.env.TITAN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const PG_START_COMMAND = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';

/**
 * Tests' connection for creating and dropping their own schemas. A server that cannot be reached
 * fails the test (it is never skipped), naming the command that starts it.
 */
export async function connectTestAdmin(url = TEST_PG_URL): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SET client_min_messages = warning');
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new Error(
      `cannot reach the PostgreSQL server at ${url.replace(/\/\/[^@/]*@/, '//…@')} (${(err as Error).message}); ` +
        `the store tests need it: start it with \`${PG_START_COMMAND}\` (or point TITAN_TEST_PG_URL at one)`,
    );
  }
}

/** Schemas a test file creates, each dropped (with everything in it) by `dropAll`. */
export class TestSchemas {
  readonly #created: string[] = [];

  constructor(private readonly admin: pg.Client) {}

  async create(label = 't'): Promise<string> {
    const schema = `titan_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
    await this.admin.query(`CREATE SCHEMA ${schema}`);
    this.#created.push(schema);
    return schema;
  }

  async dropAll(): Promise<void> {
    for (const schema of this.#created.splice(0)) await this.admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }
}
