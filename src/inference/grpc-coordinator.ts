import * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import { describeIssues } from '../protocol/messages.js';
import { InferenceOutcomeReport, type InferenceAgentReport } from '../protocol/inference-messages.js';
import { auditedCallback, grpcResult, whenReceived, type GrpcGuard } from './grpc-auth.js';
import { publicKeyView, requestInference, statusView, type InferenceHost } from './service.js';

/** How often a gRPC agent is asked to report (a third of the time after which it is dropped). */
const reportIntervalOf = (host: InferenceHost): number => Math.max(100, Math.floor(host.inference.options.agentTimeoutMs / 3));

const Resources = z.object({
  models: z.array(z.object({ name: z.string().min(1).max(300), size_mb: z.number().min(0).nullable().optional() })).max(10_000),
  vram_total_mb: z.number().min(0),
  vram_free_mb: z.number().min(0),
  ram_total_mb: z.number().min(0),
  ram_free_mb: z.number().min(0),
  cpu_percent: z.number().min(0).max(100),
  running: z.number().int().min(0),
  max_concurrency: z.number().int().min(1, 'max_concurrency must be at least 1'),
  server_error: z.string().max(2000).default(''),
});
const agentId = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'agent_id is 1-128 letters, digits, dot, dash or underscore');
const RegisterAgentBody = z.object({ agent_id: agentId, endpoint: z.url('endpoint must be a URL such as http://10.0.0.7:11500'), resources: Resources });
const HealthReport = z.object({ agent_id: agentId, resources: Resources.nullable().optional(), outcomes: z.array(z.unknown()).max(10_000).default([]) });

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void;

function toReport(endpoint: string, r: z.infer<typeof Resources>): InferenceAgentReport {
  const url = new URL(endpoint);
  return {
    gatewayPort: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    models: r.models.map((m) => (m.size_mb !== null && m.size_mb !== undefined ? { name: m.name, sizeMb: m.size_mb } : { name: m.name })),
    vramTotalMb: r.vram_total_mb,
    vramFreeMb: r.vram_free_mb,
    ramTotalMb: r.ram_total_mb,
    ramFreeMb: r.ram_free_mb,
    cpuPercent: r.cpu_percent,
    running: r.running,
    maxConcurrency: r.max_concurrency,
    ...(r.server_error !== '' ? { serverError: r.server_error } : {}),
  };
}

const fail = (code: grpc.status, details: string, meta: Record<string, string> = {}): Partial<grpc.StatusObject> => {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(meta)) metadata.set(k, v);
  return { code, details, metadata };
};

/** The CoordinatorService methods; each calls the same service function as its REST route. */
export function coordinatorHandlers(host: InferenceHost, guard: GrpcGuard): grpc.UntypedServiceImplementation {
  const RequestInference: Unary<Record<string, unknown>, unknown> = (call, answer) => {
    const admission = guard(call.metadata, 'RequestInference', call.getPeer());
    if (admission.refused !== null) return answer(admission.refused);
    const callback = auditedCallback(answer, admission.outcome);
    whenReceived(
      admission.received,
      () => route(call.request, callback),
      (error) => callback(error),
    );
  };

  const route = (r: Record<string, unknown>, callback: grpc.sendUnaryData<unknown>): void => {
    // proto3 sends 0 and "" for unset fields: they mean absent here.
    const body = {
      model: r.model,
      ...(r.prompt !== '' ? { prompt: r.prompt } : {}),
      ...(r.max_tokens !== 0 ? { max_tokens: r.max_tokens } : {}),
      ...(r.client_id !== '' ? { client_id: r.client_id } : {}),
    };
    requestInference(host, body, 'grpc-client', Date.now()).then(
      (result) => {
        if (result.ok) return callback(null, result.grant);
        if ('invalid' in result) return callback(fail(grpc.status.INVALID_ARGUMENT, result.invalid));
        const code = result.refusal.code === 'E_UNKNOWN_MODEL' ? grpc.status.NOT_FOUND : grpc.status.UNAVAILABLE;
        callback(fail(code, result.refusal.error, { 'titan-code': result.refusal.code, 'available-models': result.refusal.available_models.join(',') }));
      },
      (err: unknown) => callback(fail(grpc.status.INTERNAL, `could not route the request: ${(err as Error).message}`)),
    );
  };

  const RegisterAgent: Unary<unknown, unknown> = (call, answer) => {
    const admission = guard(call.metadata, 'RegisterAgent', call.getPeer());
    if (admission.refused !== null) return answer(admission.refused);
    const callback = auditedCallback(answer, admission.outcome);
    whenReceived(
      admission.received,
      () => register(call.request, callback),
      (error) => callback(error),
    );
  };

  const register = (request: unknown, callback: grpc.sendUnaryData<unknown>): void => {
    const parsed = RegisterAgentBody.safeParse(request);
    if (!parsed.success) return callback(fail(grpc.status.INVALID_ARGUMENT, describeIssues(parsed.error)));
    const req = parsed.data;
    const existing = host.inference.registry.agents.get(req.agent_id);
    if (existing !== undefined && existing.source === 'worker')
      return callback(fail(grpc.status.ALREADY_EXISTS, `agent ${req.agent_id} is a Titan worker already; pick another agent_id`));
    const agent = host.inference.report(req.agent_id, 'grpc', req.endpoint.replace(/\/+$/, ''), toReport(req.endpoint, req.resources), Date.now());
    callback(null, { ok: true, status: agent.status, report_interval_ms: reportIntervalOf(host), public_key_pem: host.inference.publicKeyPem });
  };

  const ReportHealth = (call: grpc.ServerDuplexStream<unknown, unknown>): void => {
    const admission = guard(call.metadata, 'ReportHealth', call.getPeer());
    if (admission.refused !== null) {
      call.emit('error', admission.refused);
      return;
    }
    // A stream's outcome row is written at its first answer (a report accepted, or an error), or when it ends unanswered.
    let outcomeWritten = false;
    const outcome = (result: string): void => {
      if (!outcomeWritten) admission.outcome(result);
      outcomeWritten = true;
    };
    const refuse = (error: Partial<grpc.StatusObject>): boolean => {
      outcome(grpcResult(error));
      return call.emit('error', error);
    };
    let reporter: string | null = null;
    // Attached once the `received` row has committed: until then the stream holds the reports unread.
    const read = (message: unknown): boolean | undefined => {
      const parsed = HealthReport.safeParse(message);
      if (!parsed.success) return refuse({ code: grpc.status.INVALID_ARGUMENT, details: describeIssues(parsed.error) });
      const report = parsed.data;
      const agent = host.inference.registry.agents.get(report.agent_id);
      if (agent === undefined || agent.source !== 'grpc')
        return refuse({ code: grpc.status.NOT_FOUND, details: `agent ${report.agent_id} is not registered: call RegisterAgent first` });
      reporter = report.agent_id;
      const now = Date.now();
      if (report.resources !== null && report.resources !== undefined)
        host.inference.report(agent.id, 'grpc', agent.endpoint, toReport(agent.endpoint, report.resources), now);
      else agent.lastReportAt = now;
      for (const raw of report.outcomes) {
        const o = raw as Record<string, unknown>;
        const outcome = InferenceOutcomeReport.safeParse({
          ...o,
          evalMs: o.eval_ms,
          durationMs: o.duration_ms,
          ...(o.jti === '' ? { jti: undefined } : {}),
          ...(o.error === '' ? { error: undefined } : {}),
        });
        if (outcome.success) host.inference.outcome(agent.id, outcome.data, now);
      }
      outcome('ok');
      return call.write({ agent_id: agent.id, status: agent.status, reason: agent.health.reason });
    };
    whenReceived(admission.received, () => call.on('data', read), refuse);
    const gone = (): void => {
      outcome('ok: the stream ended before any report');
      if (reporter !== null) host.inference.remove(reporter, 'its ReportHealth stream ended');
      reporter = null;
    };
    call.on('end', () => {
      gone();
      call.end();
    });
    call.on('cancelled', gone);
    call.on('error', gone);
  };

  const QuerySystemStatus: Unary<{ include_agents: boolean }, unknown> = (call, callback) => {
    const admission = guard(call.metadata, 'QuerySystemStatus', call.getPeer());
    if (admission.refused !== null) return callback(admission.refused);
    callback(null, statusView(host, call.request.include_agents, Date.now()));
  };

  const GetPublicKey: Unary<unknown, unknown> = (_call, callback) => callback(null, publicKeyView(host));

  return { RequestInference, RegisterAgent, ReportHealth, QuerySystemStatus, GetPublicKey };
}
