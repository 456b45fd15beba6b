import { timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Master } from '../master/master.js';
import { coordinatorHandlers } from './grpc-coordinator.js';
import { loadProtos } from './grpc-proto.js';

type HealthCall = grpc.ServerUnaryCall<{ service: string }, { status: string }>;
type HealthWatch = grpc.ServerWritableStream<{ service: string }, { status: string }>;

const COORDINATOR = 'titan.inference.v1.CoordinatorService';

/**
 * The largest request message decoded. The schemas have no recursive messages, so depth is
 * bounded by them; this bounds the repeated fields (a request is a model name and a few numbers).
 */
export const GRPC_MAX_REQUEST = 1024 * 1024;

/**
 * The master's gRPC face: CoordinatorService (the same service layer as the REST routes) and
 * grpc.health.v1.Health. The cluster token travels as "authorization: Bearer <token>" metadata;
 * Health and GetPublicKey are public, like /api/v1/health and /api/v1/public-key.
 */
export class GrpcApi {
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': GRPC_MAX_REQUEST });
  private closed = false;

  constructor(private readonly master: Master) {
    const protos = loadProtos();
    this.server.addService(protos.coordinator.service, coordinatorHandlers(master, (metadata) => this.authorized(metadata)));
    this.server.addService(protos.health.service, {
      Check: (call: HealthCall, callback: grpc.sendUnaryData<{ status: string }>) => {
        const status = this.servingStatus(call.request.service);
        if (status === 'SERVICE_UNKNOWN') callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}": ask for "" or "${COORDINATOR}"` });
        else callback(null, { status });
      },
      Watch: (call: HealthWatch) => this.watch(call),
    });
  }

  listen(at: { host: string; port: number }): Promise<number> {
    return new Promise((resolve, reject) => {
      const host = at.host.includes(':') ? `[${at.host}]` : at.host;
      this.server.bindAsync(`${host}:${at.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err !== null ? reject(err) : resolve(port)));
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2_000);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  private servingStatus(service: string): 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN' {
    if (service !== '' && service !== COORDINATOR) return 'SERVICE_UNKNOWN';
    return this.master.ready && !this.closed ? 'SERVING' : 'NOT_SERVING';
  }

  /** Sends the status now and again whenever it changes, until the caller goes away. */
  private watch(call: HealthWatch): void {
    let last = '';
    const send = (): void => {
      const status = this.servingStatus(call.request.service);
      if (status !== last) {
        last = status;
        call.write({ status });
      }
    };
    send();
    const timer = setInterval(send, 1_000);
    timer.unref();
    call.on('cancelled', () => clearInterval(timer));
    call.on('close', () => clearInterval(timer));
  }

  private authorized(metadata: grpc.Metadata): boolean {
    const header = metadata.get('authorization')[0];
    const text = typeof header === 'string' ? header : header?.toString('utf8');
    const given = text?.startsWith('Bearer ') === true ? text.slice('Bearer '.length).trim() : undefined;
    if (given === undefined) return false;
    const expected = Buffer.from(this.master.token);
    const actual = Buffer.from(given);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}
