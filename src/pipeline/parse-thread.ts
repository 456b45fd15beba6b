import { parentPort, workerData } from 'node:worker_threads';
import { parsePipeline } from './parse-pipeline.js';
import type { ParseOptions } from './pipeline.js';

// One pipeline per thread: parse, post the result, exit. See parse-off-loop.ts.
const { text, options } = workerData as { text: string; options: ParseOptions };
parentPort?.postMessage(parsePipeline(text, options));
