/**
 * The YAML parser and the pipeline translation, loaded when a pipeline is first submitted or
 * scheduled: a client that only lists or watches (most CLI commands) does not pay for them at start.
 */
export async function pipelineTools(): Promise<typeof import('../pipeline/parse-pipeline.js') & typeof import('./pipeline-jobs.js')> {
  const [parser, jobs] = await Promise.all([import('../pipeline/parse-pipeline.js'), import('./pipeline-jobs.js')]);
  return { ...parser, ...jobs };
}
