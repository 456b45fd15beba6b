import { LineCounter, isMap, isSeq, parseDocument } from 'yaml';
import { checkGraph } from './check-graph.js';
import { MAX_ALIAS_COUNT, TOP_LEVEL_KEYS } from './pipeline.js';
import type { ParseOptions, ParseResult, PipelineJob, PipelineProblem } from './pipeline.js';
import { readInstant, readJob } from './read-job.js';
export type { Approval, ParseOptions, ParseResult, Pipeline, PipelineJob, PipelineProblem, RetryBackoff, TriggerRule } from './pipeline.js';
import type { JobDraft } from './read-job.js';
import { YamlReader, describe, isNull } from './yaml-reader.js';
import { depthProblem, keysProblem, precheckPipeline } from './pipeline-limits.js';

const MAX_SYNTAX_ERRORS = 5;

/**
 * Parses and validates a pipeline file's text. Pure: no file system, no clock. Never throws on any
 * input; every problem found is returned at once, each located and saying how to fix it.
 *
 * @example
 *   const result = parsePipeline(text);
 *   if (!result.ok) throw new Error(formatProblems('pipeline.yaml', result.problems));
 */
export function parsePipeline(text: string, options: ParseOptions = {}): ParseResult {
  const limits = options.limits;
  const early = limits === undefined ? undefined : precheckPipeline(text, limits);
  if (early !== undefined) return { ok: false, problems: [early] };
  const lines = new LineCounter();
  // Duplicate keys are found by the reader in linear time (yaml's own check is quadratic).
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { lineCounter: lines, schema: 'core', version: '1.2', uniqueKeys: false, prettyErrors: false, logLevel: 'error' });
  } catch (err) {
    // Recursion in the parser: block nesting (`- - - - …`) deep enough to overflow the stack.
    if (err instanceof RangeError) return { ok: false, problems: [{ line: 1, column: 1, message: depthProblem(limits) }] };
    throw err;
  }
  const syntax = doc.errors.map((e): PipelineProblem => {
    const { line, col } = lines.linePos(e.pos[0]);
    // yaml turns its own stack overflow (block nesting like `- - - - …`) into an error of the document.
    const message = e.message.includes('Maximum call stack size exceeded') ? depthProblem(limits) : `YAML syntax error: ${firstLine(e.message)}`;
    return { line, column: col, message };
  });
  // Past a syntax error the document tree is a guess, so checking it would only add noise; and
  // one unclosed bracket can cascade into dozens of errors, so only the first few are worth reading.
  if (syntax.length > MAX_SYNTAX_ERRORS) {
    const rest = syntax.length - MAX_SYNTAX_ERRORS;
    const last = syntax[MAX_SYNTAX_ERRORS] ?? { line: 1, column: 1 };
    syntax.splice(MAX_SYNTAX_ERRORS, rest, {
      line: last.line,
      column: last.column,
      message: `${rest} more YAML syntax errors follow, most likely caused by the ones above; fix those first`,
    });
  }
  if (syntax.length > 0) return { ok: false, problems: syntax };

  let r: YamlReader;
  try {
    r = new YamlReader(doc, lines, limits?.maxDepth);
  } catch (err) {
    if (err instanceof RangeError) return { ok: false, problems: [{ line: 1, column: 1, message: depthProblem(limits) }] };
    throw err;
  }
  if (r.tooDeep) return { ok: false, problems: [{ line: 1, column: 1, message: depthProblem(limits) }] };
  if (limits !== undefined && r.keyCount > limits.maxKeys) return { ok: false, problems: [{ line: 1, column: 1, message: keysProblem(limits) }] };
  for (const w of doc.warnings) {
    if (w.code !== 'TAG_RESOLVE_FAILED') r.report(w.pos[0], `YAML: ${firstLine(w.message)}`); // tags: reported by the reader
  }
  const expansion = r.firstAlias !== undefined && r.unresolvedAliases === 0 ? expandAliases(doc) : undefined;
  if (expansion !== undefined) {
    r.report(r.firstAlias ?? 0, expansion);
    return done(r, undefined);
  }

  const root = r.resolve(doc.contents);
  if (isNull(root)) {
    r.report(0, 'the file is empty; a pipeline needs at least name and jobs');
    return done(r, undefined);
  }
  if (!isMap(root)) {
    r.report(doc.contents, `a pipeline must be a map with name, version, project and jobs, not ${describe(root)}`);
    return done(r, undefined);
  }
  const entries = r.entries(root);
  r.checkKeys(entries, TOP_LEVEL_KEYS, 'at top level');
  const value = (key: string): unknown => entries.find((e) => e.key === key)?.value;
  const has = (key: string): boolean => entries.some((e) => e.key === key);

  let name: string | undefined;
  if (!has('name')) r.report(root, 'missing key "name"; add name: <pipeline name>');
  else name = r.text(value('name'), 'name', true);
  const version = has('version') ? r.text(value('version'), 'version', true) : '1';
  const project = has('project') ? r.boolean(value('project'), 'project') : false;

  const drafts: JobDraft[] = [];
  const jobsNode = value('jobs');
  const jobs = r.resolve(jobsNode);
  if (!has('jobs')) r.report(root, 'missing key "jobs"; add a list of jobs, each with an id and a file or command');
  else if (isNull(jobs) || (isSeq(jobs) && jobs.items.length === 0)) r.report(jobsNode ?? root, 'jobs is empty; add at least one job');
  else if (!isSeq(jobs)) r.report(jobsNode, `jobs must be a list (each item starting with "- "), not ${describe(jobs)}`);
  else {
    jobs.items.forEach((item, i) => {
      const draft = readJob(r, item, i);
      if (draft !== undefined) drafts.push(draft);
    });
    checkGraph(r, drafts, options);
  }

  // A pipeline's run_at holds every job that has none of its own.
  const runAt = has('run_at') ? readInstant(r, value('run_at'), 'run_at') : undefined;
  if (name === undefined || version === undefined || project === undefined) return done(r, undefined);
  const held = drafts.map((d) => (runAt !== undefined && d.job.runAt === undefined ? { ...d.job, runAt } : d.job));
  return done(r, { name, version, project, jobs: held });
}

/** One line per problem, in file order: `pipeline.yaml:14: job "train" depends on "prep", ...`. */
export function formatProblems(fileName: string, problems: readonly PipelineProblem[]): string {
  return problems.map((p) => `${fileName}:${p.line}: ${p.message}`).join('\n');
}

function done(r: YamlReader, pipeline: { name: string; version: string; project: boolean; jobs: PipelineJob[] } | undefined): ParseResult {
  if (r.problems.length === 0 && pipeline !== undefined) return { ok: true, pipeline };
  const problems = [...r.problems].sort((a, b) => a.line - b.line || a.column - b.column);
  return { ok: false, problems };
}

/**
 * Expands the document once with yaml's guard, which counts expansions per anchor and stops past
 * the limit instead of expanding an alias bomb. Returns the problem, if any.
 */
function expandAliases(doc: ReturnType<typeof parseDocument>): string | undefined {
  try {
    // mapAsMap: keys stay keys, so yaml neither stringifies a collection key nor warns about it.
    doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT, mapAsMap: true });
    return undefined;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (message.includes('Excessive alias count')) {
      return `too many alias expansions (over ${MAX_ALIAS_COUNT}); this looks like an alias bomb, write the values out`;
    }
    return `YAML could not be read: ${firstLine(message)}`;
  }
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}
