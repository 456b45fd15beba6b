import { Worker } from 'node:worker_threads';
import { parsePipeline } from './parse-pipeline.js';
import { PIPELINE_LIMIT_FLAGS, precheckPipeline, type PipelineLimits } from './pipeline-limits.js';
import type { ParseOptions, ParseResult } from './pipeline.js';

/** Below this size a parse costs well under a millisecond per kilobyte: done inline, no thread. */
export const INLINE_PARSE_BYTES = 16 * 1024;
/** Heap for one parse thread; a document that needs more is refused, the master is untouched. */
const THREAD_HEAP_MB = 256;
/** Parses running at once; more wait their turn, so a burst costs threads, not the master's memory. */
const MAX_THREADS = 2;

let running = 0;
const waiting: Array<() => void> = [];

/**
 * Parses a pipeline sent to the master without blocking its loop: the size and flow-depth
 * prechecks run inline (linear, no allocation), a small document is parsed inline, a larger one
 * in a worker thread with a heap cap, stopped when it runs past `limits.parseBudgetMs`.
 */
export async function parsePipelineOffLoop(text: string, limits: PipelineLimits, options: Omit<ParseOptions, 'limits'> = {}): Promise<ParseResult> {
  const early = precheckPipeline(text, limits);
  if (early !== undefined) return { ok: false, problems: [early] };
  if (text.length <= INLINE_PARSE_BYTES) return parsePipeline(text, { ...options, limits });
  if (running >= MAX_THREADS) await new Promise<void>((resume) => waiting.push(resume));
  running++;
  try {
    return await inThread(text, { ...options, limits }, limits);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function inThread(text: string, options: ParseOptions, limits: PipelineLimits): Promise<ParseResult> {
  return new Promise((resolve) => {
    const refuse = (message: string): void => resolve({ ok: false, problems: [{ line: 1, column: 1, message }] });
    const worker = new Worker(new URL('./parse-thread.js', import.meta.url), {
      workerData: { text, options },
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
    });
    let settled = false;
    const settle = (then: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(budget);
      then();
      void worker.terminate();
    };
    const budget = setTimeout(
      () =>
        settle(() =>
          refuse(
            `the pipeline took longer than ${limits.parseBudgetMs} ms to read and was stopped; simplify it (fewer keys, less nesting) or raise ${PIPELINE_LIMIT_FLAGS.parseBudgetMs} on titan master`,
          ),
        ),
      limits.parseBudgetMs,
    );
    worker.once('message', (result: ParseResult) => settle(() => resolve(result)));
    worker.once('error', (err: Error & { code?: string }) =>
      settle(() =>
        refuse(
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? `the pipeline needs more than ${THREAD_HEAP_MB} MB to read and was stopped; simplify it (fewer keys, less nesting)`
            : `the pipeline could not be read: ${err.message}`,
        ),
      ),
    );
    worker.once('exit', () => settle(() => refuse('the pipeline reader stopped without an answer; retry, and report it if it repeats')));
  });
}
