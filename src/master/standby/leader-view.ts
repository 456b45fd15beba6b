/** What a standby knows of the leader: its TITAN_PROTO and HTTP addresses (null when unknown) and its epoch. */
export interface LeaderView {
  /** host:port of the leader's TITAN_PROTO listener. */
  readonly tcp: string | null;
  /** The leader's HTTP address: host:port (plain HTTP) or a base URL such as https://b:8443. */
  readonly http: string | null;
  readonly epoch: number;
}

export type LeaderSource = () => LeaderView;
