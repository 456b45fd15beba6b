import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEFAULT_HEALTH, type HealthConfig } from '../core/inference-health.js';
import { DEFAULT_PLACEMENT, normaliseModel, type PlacementConfig } from '../core/inference-placement.js';
import { describeIssues } from '../protocol/messages.js';

/** The coordinator's settings, resolved once at start (file < TOKEN_TTL env < flags). */
export interface InferenceOptions {
  readonly placement: PlacementConfig;
  readonly health: HealthConfig;
  readonly tokenTtlSeconds: number;
  /** Weight of the newest sample in the tokens/s moving average. */
  readonly throughputAlpha: number;
  /** A gRPC-registered agent with no report for this long is dropped (workers use their heartbeat timeout). */
  readonly agentTimeoutMs: number;
  /** How often open breakers are checked for the move to half-open. */
  readonly tickMs: number;
}

export const DEFAULT_INFERENCE: InferenceOptions = {
  placement: DEFAULT_PLACEMENT,
  health: DEFAULT_HEALTH,
  tokenTtlSeconds: 300,
  throughputAlpha: 0.3,
  agentTimeoutMs: 30_000,
  tickMs: 250,
};

const positive = z.number().positive();
const pct = z.number().min(0).max(100);
const ConfigFile = z
  .object({
    weights: z
      .object({ vram: z.number().min(0), load: z.number().min(0), rtt: z.number().min(0), performance: z.number().min(0) })
      .partial()
      .strict(),
    rttScaleMs: positive,
    tokensPerSecScale: positive,
    noHistoryPerformance: z.number().min(0).max(1),
    defaultModelMb: z.number().min(0),
    modelMb: z.record(z.string(), z.number().min(0)),
    degradedFactor: z.number().min(0).max(1),
    health: z
      .object({
        degradeVramPct: pct,
        degradeCpuPct: pct,
        degradeRamFreeMb: z.number().min(0),
        recoverVramPct: pct,
        recoverCpuPct: pct,
        recoverRamFreeMb: z.number().min(0),
        failuresToOpen: z.number().int().min(1),
        openMs: positive,
        halfOpenMs: positive,
        successesToClose: z.number().int().min(1),
        halfOpenTrials: z.number().int().min(1),
      })
      .partial()
      .strict(),
    tokenTtlSeconds: z.number().int().min(1).max(86_400),
    throughputAlpha: z.number().gt(0).max(1),
    agentTimeoutMs: positive,
    tickMs: z.number().int().min(10).max(10_000),
  })
  .partial()
  .strict();

/** Merges a JSON config file (every key optional, see docs/INFERENCE.md) and TOKEN_TTL over the defaults. */
export function resolveInferenceOptions(configFile: string | undefined, env: NodeJS.ProcessEnv): InferenceOptions {
  let file: z.infer<typeof ConfigFile> = {};
  if (configFile !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch (err) {
      throw new Error(`--inference-config ${configFile}: ${(err as Error).message}`);
    }
    const parsed = ConfigFile.safeParse(raw);
    if (!parsed.success) throw new Error(`--inference-config ${configFile}: ${describeIssues(parsed.error)} (see docs/INFERENCE.md for the keys)`);
    file = parsed.data;
  }
  const ttlText = env.TOKEN_TTL ?? env.TITAN_TOKEN_TTL;
  const ttl = ttlText !== undefined ? Number(ttlText) : undefined;
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= 1 && ttl <= 86_400))
    throw new Error(`TOKEN_TTL=${ttlText}: give whole seconds between 1 and 86400`);
  const d = DEFAULT_INFERENCE;
  const modelMb: Record<string, number> = {};
  for (const [name, value] of Object.entries(file.modelMb ?? {})) modelMb[normaliseModel(name)] = value;
  return {
    placement: {
      ...d.placement,
      rttScaleMs: file.rttScaleMs ?? d.placement.rttScaleMs,
      tokensPerSecScale: file.tokensPerSecScale ?? d.placement.tokensPerSecScale,
      noHistoryPerformance: file.noHistoryPerformance ?? d.placement.noHistoryPerformance,
      defaultModelMb: file.defaultModelMb ?? d.placement.defaultModelMb,
      degradedFactor: file.degradedFactor ?? d.placement.degradedFactor,
      weights: { ...d.placement.weights, ...stripUndefined(file.weights ?? {}) },
      modelMb,
    },
    health: { ...d.health, ...stripUndefined(file.health ?? {}) },
    tokenTtlSeconds: ttl ?? file.tokenTtlSeconds ?? d.tokenTtlSeconds,
    throughputAlpha: file.throughputAlpha ?? d.throughputAlpha,
    agentTimeoutMs: file.agentTimeoutMs ?? d.agentTimeoutMs,
    tickMs: file.tickMs ?? d.tickMs,
  };
}

function stripUndefined<T extends object>(value: T): { [K in keyof T]-?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]-?: Exclude<T[K], undefined> };
}
