import * as grpc from '@grpc/grpc-js';
import type { Security } from '../security/security.js';
import type { InferenceHost } from './service.js';
import { coordinatorHandlers } from './grpc-coordinator.js';
import { grpcGuard } from './grpc-auth.js';
import type { ServerTlsMaterial } from '../security/tls.js';
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
 * grpc.health.v1.Health. A token (cluster, API or job) travels as "authorization: Bearer <token>"
 * metadata and is checked with its role like any TCP or HTTP request (grpc-auth.ts); Health and
 * GetPublicKey are public, like /api/v1/health and /api/v1/public-key. Under --tls/--mtls it
 * serves TLS with the master's certificate (and requires a client certificate under --mtls).
 */
export class GrpcApi {
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': GRPC_MAX_REQUEST });
  private closed = false;

  constructor(
    private readonly host: InferenceHost,
    security: Security,
    private readonly tls: ServerTlsMaterial | null,
  ) {
    const protos = loadProtos();
    this.server.addService(
      protos.coordinator.service,
      coordinatorHandlers(
        host,
        grpcGuard(() => security),
      ),
    );
    this.server.addService(protos.health.service, {
      Check: (call: HealthCall, callback: grpc.sendUnaryData<{ status: string }>) => {
        const status = this.servingStatus(call.request.service);
        if (status === 'SERVICE_UNKNOWN')
          callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}": ask for "" or "${COORDINATOR}"` });
        else callback(null, { status });
      },
      Watch: (call: HealthWatch) => this.watch(call),
    });
  }

  listen(at: { host: string; port: number }): Promise<number> {
    return new Promise((resolve, reject) => {
      const host = at.host.includes(':') ? `[${at.host}]` : at.host;
      const credentials =
        this.tls === null
          ? grpc.ServerCredentials.createInsecure()
          : grpc.ServerCredentials.createSsl(this.tls.ca, [{ private_key: this.tls.key, cert_chain: this.tls.cert }], this.tls.requestCert);
      this.server.bindAsync(`${host}:${at.port}`, credentials, (err, port) => (err !== null ? reject(err) : resolve(port)));
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
    return this.host.ready && !this.closed ? 'SERVING' : 'NOT_SERVING';
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
}
