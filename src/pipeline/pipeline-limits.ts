import type { PipelineProblem } from './pipeline.js';

/** What one YAML pipeline may cost to read, checked before and while it is parsed. */
export interface PipelineLimits {
  /** Largest document, in UTF-8 bytes. */
  readonly maxBytes: number;
  /** Deepest nesting of flow collections (`[`, `{`) and indentation levels. */
  readonly maxDepth: number;
  /** Most map keys in the whole document. */
  readonly maxKeys: number;
  /** Longest a parse may take before it is stopped (the master parses off its loop). */
  readonly parseBudgetMs: number;
}

export const DEFAULT_PIPELINE_LIMITS: PipelineLimits = { maxBytes: 1024 * 1024, maxDepth: 64, maxKeys: 20_000, parseBudgetMs: 5_000 };

/** The flags of `titan master` that raise each limit, named in the problems. */
export const PIPELINE_LIMIT_FLAGS = {
  maxBytes: '--max-pipeline-size',
  maxDepth: '--max-pipeline-depth',
  maxKeys: '--max-pipeline-keys',
  parseBudgetMs: '--pipeline-parse-budget',
} as const;

const OPEN_FLOW = new Set(['[', '{']);
const CLOSE_FLOW = new Set([']', '}']);
/** What follows a `:` that ends a key (a colon inside a plain scalar is followed by anything else). */
const KEY_MAY_PRECEDE = new Set([' ', '\t', '\n', '\r', ',', '}', ']']);
/** A quoted scalar starts a token: after a space, a line start, an indicator or a flow bracket. */
const QUOTE_MAY_FOLLOW = new Set([' ', '\t', '\n', ':', '-', ',', '[', '{', '?']);

/**
 * Cheap checks on the raw text, linear and allocation-free, so that a document the parser would
 * spend seconds and gigabytes on (2 MB of `[[[…`, 64,000 keys) is refused before it starts. Flow
 * brackets and key indicators (`: `) are counted outside quotes and comments; one inside a plain
 * or block scalar can only make a count too high, never hide real nesting or keys. The parse
 * counts the keys again exactly.
 */
export function precheckPipeline(text: string, limits: PipelineLimits): PipelineProblem | undefined {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) {
    return at(
      1,
      `the pipeline is ${bytes} bytes, over the ${limits.maxBytes}-byte limit; split it into several DAGs (titan dag add) or raise ${PIPELINE_LIMIT_FLAGS.maxBytes} on titan master`,
    );
  }
  let depth = 0;
  let keys = 0;
  let line = 1;
  let quote: string | null = null;
  let comment = false;
  let previous = '\n';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\n') {
      line++;
      comment = false;
    } else if (comment) {
      // rest of a comment line
    } else if (quote !== null) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if ((c === '"' || c === "'") && QUOTE_MAY_FOLLOW.has(previous)) quote = c;
    else if (c === '#' && (previous === ' ' || previous === '\t' || previous === '\n')) comment = true;
    else if (OPEN_FLOW.has(c)) {
      if (++depth > limits.maxDepth) return at(line, depthProblem(limits));
    } else if (CLOSE_FLOW.has(c) && depth > 0) depth--;
    else if (c === ':' && KEY_MAY_PRECEDE.has(text[i + 1] ?? '\n') && ++keys > limits.maxKeys) return at(line, keysProblem(limits));
    previous = c;
  }
  return undefined;
}

export function depthProblem(limits: PipelineLimits | undefined): string {
  if (limits === undefined) return 'collections nest too deeply to be read; flatten the document';
  return `collections nest deeper than ${limits.maxDepth} levels; flatten the document or raise ${PIPELINE_LIMIT_FLAGS.maxDepth} on titan master`;
}

export function keysProblem(limits: PipelineLimits): string {
  return `the pipeline has more than ${limits.maxKeys} map keys; split it into several DAGs or raise ${PIPELINE_LIMIT_FLAGS.maxKeys} on titan master`;
}

function at(line: number, message: string): PipelineProblem {
  return { line, column: 1, message };
}
