import { DEFAULT_MAX_WAIT_SECONDS, JOB_ID_PATTERN, JOB_TYPES, MAX_WAIT_SECONDS_LIMIT, hitlGateId } from './pipeline.js';
import type { HitlGate, JobType } from './pipeline.js';
import { describe, isNull } from './yaml-reader.js';
import type { Entry, YamlReader } from './yaml-reader.js';

/** The longest message an approval carries (the master's limit). */
const MAX_MESSAGE_LENGTH = 2000;

/**
 * `hitl_message` and `max_wait_seconds`, read as the original Titan reads them: a message (an
 * empty one means no gate, as there) asks for a decision after the job succeeds; the wait defaults
 * to 48 hours. `max_wait_seconds` alone is accepted and, as in the original, changes nothing.
 */
export function readHitl(r: YamlReader, fields: ReadonlyMap<string, Entry>, name: string, id: string | undefined): HitlGate | null {
  const messageEntry = fields.get('hitl_message');
  const waitEntry = fields.get('max_wait_seconds');
  const maxWaitSeconds =
    waitEntry === undefined ? DEFAULT_MAX_WAIT_SECONDS : r.number(waitEntry.value, `${name}: max_wait_seconds`, { min: 1, max: MAX_WAIT_SECONDS_LIMIT });
  if (messageEntry === undefined || isNull(r.resolve(messageEntry.value))) return null;
  const message = r.text(messageEntry.value, `${name}: hitl_message`, true);
  if (message === undefined || message.trim() === '') return null;
  if (message.length > MAX_MESSAGE_LENGTH) {
    r.report(messageEntry.value, `${name}: hitl_message is ${message.length} characters; keep it to ${MAX_MESSAGE_LENGTH} (put details in the job's output)`);
    return null;
  }
  if (id !== undefined && !JOB_ID_PATTERN.test(hitlGateId(id))) {
    r.report(
      messageEntry.keyNode,
      `${name}: its approval gate would be named "${hitlGateId(id)}", over 128 characters; shorten the job id to carry hitl_message`,
    );
    return null;
  }
  return maxWaitSeconds === undefined ? null : { message, maxWaitSeconds };
}

/** `type: run | service`, in any case (the original lower-cases it: `SERVICE` is a service). */
export function readJobType(r: YamlReader, node: unknown, what: string): JobType | undefined {
  const value = r.resolve(node);
  const text = r.text(node, what);
  if (text === undefined) return undefined;
  const type = JOB_TYPES.find((t) => t === text.toLowerCase());
  if (type !== undefined) return type;
  r.report(node, `${what} must be one of run, service (in any case), not ${describe(value)}`);
  return undefined;
}
