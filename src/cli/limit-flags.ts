import { DEFAULT_BODY_LIMITS, type BodyLimits } from '../protocol/body-limits.js';
import { MAX_FRAME_LIMIT } from '../protocol/frame.js';
import { DEFAULT_PIPELINE_LIMITS, type PipelineLimits } from '../pipeline/pipeline-limits.js';
import { MASTER_DEFAULTS } from '../master/options.js';
import { ErrorCode, TitanError } from '../common/errors.js';
import { positiveInt } from './settings.js';

/** The decode limits of `titan master` (docs/SECURITY.md, "Decode limits"). */
export interface LimitFlags {
  maxFrame?: string;
  maxBodyDepth?: string;
  maxBodyEntries?: string;
  maxPipelineSize?: string;
  maxPipelineDepth?: string;
  maxPipelineKeys?: string;
  pipelineParseBudget?: string;
}

export function withLimitOptions<T extends { option(flags: string, description: string, defaultValue?: string): T }>(command: T): T {
  return command
    .option('--max-frame <bytes>', 'largest TITAN_PROTO frame body accepted after AUTH (before it: 8 KiB)', String(MASTER_DEFAULTS.maxFrameSize))
    .option('--max-body-depth <n>', 'deepest array/map nesting in one TCP or HTTP JSON/MessagePack body', String(DEFAULT_BODY_LIMITS.maxDepth))
    .option('--max-body-entries <n>', 'most array items plus map entries in one TCP or HTTP body', String(DEFAULT_BODY_LIMITS.maxEntries))
    .option('--max-pipeline-size <bytes>', 'largest YAML pipeline POSTed to /api/v1/dags', String(DEFAULT_PIPELINE_LIMITS.maxBytes))
    .option('--max-pipeline-depth <n>', 'deepest nesting in a YAML pipeline', String(DEFAULT_PIPELINE_LIMITS.maxDepth))
    .option('--max-pipeline-keys <n>', 'most map keys in a YAML pipeline', String(DEFAULT_PIPELINE_LIMITS.maxKeys))
    .option('--pipeline-parse-budget <ms>', 'longest a YAML pipeline may take to parse (off the main loop)', String(DEFAULT_PIPELINE_LIMITS.parseBudgetMs));
}

export function limitOptionsFrom(flags: LimitFlags): { maxFrameSize: number; bodyLimits: BodyLimits; pipelineLimits: PipelineLimits } {
  const int = (name: string, value: string | undefined, fallback: number): number => (value === undefined ? fallback : positiveInt(name, value));
  const maxFrameSize = int('--max-frame', flags.maxFrame, MASTER_DEFAULTS.maxFrameSize);
  if (maxFrameSize > MAX_FRAME_LIMIT)
    throw new TitanError(ErrorCode.INVALID_REQUEST, `--max-frame must be at most ${MAX_FRAME_LIMIT} (the u32 length field), got ${maxFrameSize}`);
  return {
    maxFrameSize,
    bodyLimits: {
      maxDepth: int('--max-body-depth', flags.maxBodyDepth, DEFAULT_BODY_LIMITS.maxDepth),
      maxEntries: int('--max-body-entries', flags.maxBodyEntries, DEFAULT_BODY_LIMITS.maxEntries),
    },
    pipelineLimits: {
      maxBytes: int('--max-pipeline-size', flags.maxPipelineSize, DEFAULT_PIPELINE_LIMITS.maxBytes),
      maxDepth: int('--max-pipeline-depth', flags.maxPipelineDepth, DEFAULT_PIPELINE_LIMITS.maxDepth),
      maxKeys: int('--max-pipeline-keys', flags.maxPipelineKeys, DEFAULT_PIPELINE_LIMITS.maxKeys),
      parseBudgetMs: int('--pipeline-parse-budget', flags.pipelineParseBudget, DEFAULT_PIPELINE_LIMITS.parseBudgetMs),
    },
  };
}
