/** The shapes the API answers with: the master's own view types, so the two cannot drift. */
export type {
  ApprovalView,
  ClusterStatsView,
  DagStatusView,
  DagView,
  JobEventView,
  JobView,
  LogLineView,
  MasterEntryView,
  MastersView,
  ServiceView,
  WorkerView,
} from '../../src/protocol/views.js';
export type { ScheduleView } from '../../src/protocol/schedule-messages.js';
export type { AuditRecordView, AuditVerifyReply, TokenCreateReply, TokenView } from '../../src/protocol/security-messages.js';

export interface JobPage {
  readonly jobs: import('../../src/protocol/views.js').JobView[];
  readonly nextCursor: number | null;
}

export type { AttemptView as Attempt } from '../../src/protocol/views.js';

export interface FeedEvent {
  readonly id: number;
  readonly at: number;
  readonly jobId: string;
  readonly name: string;
  readonly dagId: string | null;
  readonly from: string | null;
  readonly to: string;
  readonly attempt: number;
  readonly workerId: string | null;
}

export interface MinuteBucket {
  readonly at: number;
  readonly succeeded: number;
  readonly failed: number;
}
