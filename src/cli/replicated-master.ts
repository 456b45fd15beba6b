import { PRIVATE_KEY_FILE as INFERENCE_KEY_FILE, signingKeyPems } from '../inference/keys.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../common/log.js';
import { makePrivateDir } from '../common/private-files.js';
import { holderAddresses, holderText } from '../leadership/holder.js';
import { Leadership } from '../leadership/leadership.js';
import { DEFAULT_LEASE_TTL_MS } from '../leadership/lease-ttl.js';
import { MasterRoster } from '../leadership/master-roster.js';
import { mastersView } from '../leadership/masters-view.js';
import type { MastersView } from '../protocol/views.js';
import type { LeaderView } from '../master/standby/leader-view.js';
import { StandbyHttp } from '../master/standby/standby-http.js';
import { StandbyTcp } from '../master/standby/standby-tcp.js';
import { loadOrCreateToken } from '../master/token.js';
import { PgSecurityRows } from '../security/pg-security-rows.js';
import { AUDIT_KEY_FILE, JOB_TOKEN_KEY_FILE, loadSecurityKey } from '../security/security-keys.js';
import { Security } from '../security/security.js';
import { loadServerTls, type ServerTlsMaterial } from '../security/tls.js';
import { DataDirLock } from '../store/data-dir-lock.js';
import { PgArtifacts } from '../store/postgres/pg-artifacts.js';
import { PostgresStore } from '../store/postgres/pg-store.js';
import { artifactsDir, MasterProcess, securityOptions, type MasterProcessOptions } from './master-process.js';
import { MasterSeat, type LeaderTerm, type SeatRole, type StandbyTerm } from './master-seat.js';
import { checkSharedSecrets, type SharedSecret } from './shared-secrets.js';
import { redacted } from './store-target.js';

export interface ReplicatedMasterOptions extends MasterProcessOptions {
  /** The PostgreSQL store every master of the cluster points at. */
  readonly postgres: { readonly url: string; readonly schema?: string };
  /** The host others reach this master at (its listen host, or this machine's name when that is a wildcard). */
  readonly advertiseHost?: string;
  /** How long the leader's lease lasts without renewal: a dead leader is replaced within about this. */
  readonly leaseTtlMs?: number;
  /** How often a standby tries for the lease (a third of the TTL by default). */
  readonly leaseRetryMs?: number;
}

/** How often every master refreshes its row in the `masters` table (one small upsert). */
export const ANNOUNCE_EVERY_MS = 2_000;
/** A master whose row is older than this is shown as gone: five announcements missed. */
export const MASTER_GONE_AFTER_MS = 10_000;
/** The leader deletes rows older than this; until then a dead master stays listed as gone. */
const FORGET_AFTER_MS = 60 * 60_000;

/**
 * `titan master --store postgres://…`: one of several masters on one PostgreSQL database
 * (docs/HA.md). It serves its ports as a standby (every request is sent to the leader) until the
 * lease elects it, then runs a full master on the same ports, its store fenced with the epoch it
 * was elected with, and goes back to standby when it loses the lease or its store fails.
 */
export class ReplicatedMaster {
  /** The master process while this one leads (tests and the bench read its ports and state). */
  leader: MasterProcess | null = null;
  readonly name = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  readonly ports: { tcp: number; http: number };
  /** What its PostgreSQL sessions are named in pg_stat_activity, so an operator can tell masters apart. */
  readonly sessionPrefix = `titan-master-${process.pid}`;
  private readonly seat: MasterSeat;
  private readonly tls: ServerTlsMaterial | null;
  private readonly secrets: readonly SharedSecret[];
  private readonly token: string;
  private readonly lock: DataDirLock;
  private leadership: Leadership | null = null;
  private readonly roster: MasterRoster;
  private announcer: NodeJS.Timeout | null = null;
  /** The write in flight, if any: ticks do not pile up behind a slow database, and close waits for it. */
  private announcing: Promise<void> | null = null;
  private announceFailing = false;

  private constructor(
    readonly options: ReplicatedMasterOptions,
    private readonly log: Logger,
  ) {
    makePrivateDir(options.dataDir);
    this.lock = DataDirLock.acquire(options.dataDir);
    this.tls = options.tls === undefined ? null : loadServerTls(options.tls);
    this.token = options.token ?? loadOrCreateToken(options.dataDir);
    const inDataDir = (file: string): string => join(options.dataDir, file);
    this.secrets = [
      { name: 'cluster token', file: options.token !== undefined ? '--token' : inDataDir('token'), value: this.token },
      { name: AUDIT_KEY_FILE, file: inDataDir(AUDIT_KEY_FILE), value: loadSecurityKey(options.dataDir, AUDIT_KEY_FILE) },
      { name: JOB_TOKEN_KEY_FILE, file: inDataDir(JOB_TOKEN_KEY_FILE), value: loadSecurityKey(options.dataDir, JOB_TOKEN_KEY_FILE) },
      // Signs inference routing tokens: agents verify them with the key they fetched from whichever master led.
      { name: INFERENCE_KEY_FILE, file: inDataDir(INFERENCE_KEY_FILE), value: signingKeyPems(options.dataDir).privatePem },
    ];
    this.ports = { tcp: options.port, http: options.http?.port ?? 0 };
    this.roster = new MasterRoster(options.postgres.url, {
      ...(options.postgres.schema !== undefined ? { schema: options.postgres.schema } : {}),
      applicationName: `${this.sessionPrefix}-roster`,
    });
    this.seat = new MasterSeat({
      leadership: (events) => {
        this.leadership = new Leadership(
          options.postgres.url,
          {
            ...(options.postgres.schema !== undefined ? { schema: options.postgres.schema } : {}),
            holder: holderText({ name: this.name, tcp: this.advertised(this.ports.tcp), http: this.advertisedHttp() }),
            ttlMs: options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
            ...(options.leaseRetryMs !== undefined ? { retryEveryMs: options.leaseRetryMs } : {}),
            applicationName: `${this.sessionPrefix}-lease`,
          },
          events,
        );
        return this.leadership;
      },
      standby: () => this.serveAsStandby(),
      lead: (epoch) => this.lead(epoch),
      log,
    });
  }

  /**
   * Checks this master's secrets against the store's, opens the ports as a standby and contends
   * for the lease. Refuses to start (with the file to copy) when its secrets are not the cluster's.
   */
  static async start(options: ReplicatedMasterOptions, log: Logger): Promise<ReplicatedMaster> {
    const master = new ReplicatedMaster(options, log);
    try {
      const probe = await master.openStore(`${master.sessionPrefix}-start`, 1);
      try {
        await checkSharedSecrets(probe, master.secrets, false);
      } finally {
        await probe.close();
      }
      await master.seat.start();
      await master.announce();
      master.announcer = setInterval(() => void master.announce(), ANNOUNCE_EVERY_MS);
    } catch (err) {
      await master.roster.close();
      master.lock.release();
      throw err;
    }
    log.info({ store: redacted(options.postgres.url), name: master.name, ports: master.ports }, 'contending for the lead');
    return master;
  }

  get role(): SeatRole {
    return this.seat.role;
  }

  /** Who leads, as this master knows it: what its standby ports tell clients. */
  leaderView(): LeaderView {
    const lease = this.leadership?.lease ?? { holder: null, epoch: 0, live: false };
    const addresses = lease.live ? holderAddresses(lease.holder) : null;
    // Elected but still opening the master on these ports: naming itself would send clients in a loop; name none.
    if (addresses === null || addresses.name === this.name) return { tcp: null, http: null, epoch: lease.epoch };
    return { tcp: addresses.tcp, http: addresses.http, epoch: lease.epoch };
  }

  /** Steps down (a standby takes over at once) and closes the ports. */
  async close(): Promise<void> {
    if (this.announcer !== null) clearInterval(this.announcer);
    await this.seat.stop();
    await this.announcing;
    await this.roster.close();
    this.lock.release();
  }

  private async serveAsStandby(): Promise<StandbyTerm> {
    const { options } = this;
    const leader = (): LeaderView => this.leaderView();
    const tcp = new StandbyTcp({
      leader,
      maxFrameSize: options.maxFrameSize,
      authTimeoutMs: options.authTimeoutMs,
      ...(options.bodyLimits !== undefined ? { bodyLimits: options.bodyLimits } : {}),
      tls: this.tls,
    });
    this.ports.tcp = await tcp.listen(options.host, this.ports.tcp);
    const http = options.http === undefined ? null : new StandbyHttp(leader, this.tls);
    try {
      if (http !== null && options.http !== undefined) this.ports.http = await http.listen(options.http.host, this.ports.http);
    } catch (err) {
      await tcp.close();
      throw err;
    }
    this.log.info({ ports: this.ports }, 'serving as a standby');
    return {
      close: async () => {
        await tcp.close();
        await http?.close();
      },
    };
  }

  private async lead(epoch: number): Promise<LeaderTerm> {
    const store = await this.openStore(`${this.sessionPrefix}-epoch-${epoch}`);
    let running: MasterProcess;
    try {
      store.fence(epoch);
      const { usedBefore } = await checkSharedSecrets(store, this.secrets, true);
      const auditKeyUsedBefore = usedBefore.has(AUDIT_KEY_FILE);
      const artifacts = await PgArtifacts.open(store.blobs, artifactsDir(this.options));
      const security = await Security.open({ ...securityOptions(this.options, this.token), auditKeyUsedBefore }, this.log, new PgSecurityRows(store));
      const options: MasterProcessOptions = {
        ...this.options,
        token: this.token,
        port: this.ports.tcp,
        ...(this.options.http !== undefined ? { http: { ...this.options.http, port: this.ports.http } } : {}),
        cluster: { epoch, masters: () => this.mastersView(epoch) },
      };
      running = new MasterProcess(options, this.log, () => ({
        store,
        artifacts,
        security,
        token: this.token,
        release: () => store.close(),
        // A failed commit leaves the core's memory ahead of the store: only a fresh start from the store mends that.
        onStoreFailure: (err) => this.leadership?.stepDown(`a store commit failed: ${(err as Error).message}`),
      }));
      await running.start();
    } catch (err) {
      await store.close();
      throw err;
    }
    this.leader = running;
    this.log.info({ epoch, port: running.port, httpPort: running.httpPort }, 'leading');
    void this.announce();
    return {
      stopDispatching: () => running.master.beginClose(),
      close: async () => {
        this.leader = null;
        await running.close();
      },
    };
  }

  /**
   * Writes this master's row: who it is, where it is reached, its role. Not fenced: a standby
   * writes too. A failure is logged once per streak; the next tick tries again.
   */
  private announce(): Promise<void> {
    this.announcing ??= this.writeRow().finally(() => (this.announcing = null));
    return this.announcing;
  }

  private async writeRow(): Promise<void> {
    const role = this.seat.role;
    try {
      await this.roster.announce({
        name: this.name,
        tcp: this.advertised(this.ports.tcp),
        http: this.advertisedHttp(),
        role: role.kind === 'leader' ? 'leader' : 'standby',
        epoch: role.kind === 'leader' ? role.epoch : null,
      });
      if (role.kind === 'leader') await this.roster.forget(FORGET_AFTER_MS);
      this.announceFailing = false;
    } catch (err) {
      if (!this.announceFailing) this.log.warn({ err: (err as Error).message }, 'could not write this master to the masters table');
      this.announceFailing = true;
    }
  }

  /** The masters for `titan stats`; just this one when the table cannot be read. */
  private async mastersView(epoch: number): Promise<MastersView> {
    const rows = await this.roster.read().catch(() => []);
    const self = { name: this.name, tcp: this.advertised(this.ports.tcp), http: this.advertisedHttp(), role: 'leader' as const, epoch, seenMsAgo: 0 };
    return mastersView(this.name, epoch, rows.some((r) => r.name === this.name) ? rows : [self, ...rows], MASTER_GONE_AFTER_MS);
  }

  private openStore(applicationName: string, max?: number): Promise<PostgresStore> {
    const { url, schema } = this.options.postgres;
    return PostgresStore.open(url, { ...(schema !== undefined ? { schema } : {}), applicationName, ...(max !== undefined ? { max } : {}) });
  }

  private advertised(port: number, listen = this.options.host): string {
    const host = this.options.advertiseHost ?? (listen === '0.0.0.0' || listen === '::' ? hostname() : listen);
    return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  private advertisedHttp(): string | null {
    if (this.options.http === undefined) return null;
    const address = this.advertised(this.ports.http, this.options.http.host);
    return this.tls !== null ? `https://${address}` : address;
  }
}
