import { TitanError, ErrorCode } from '../common/errors.js';
import type { ServiceView } from '../protocol/views.js';
import type { SubmitInput, TitanClient } from './client.js';

export interface RolloutOptions {
  /** Replicas after the rollout; default: as many as run now (at least 1). */
  readonly replicas?: number;
  /** How long each new replica may take to pass its readiness check. */
  readonly readyTimeoutMs?: number;
  /** Told of each step, for progress output. */
  readonly onStep?: (message: string) => void;
}

export interface RolloutResult {
  /** The new replicas, in order. */
  readonly serviceIds: string[];
  /** The replicas they replaced (now stopped). */
  readonly replaced: string[];
}

const POLL_MS = 100;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The running replicas of the service called `name` (`name`, or `name-1`, `name-2`, ...), in replica order. */
export function replicasOf(services: readonly ServiceView[], name: string): ServiceView[] {
  const numbered = new RegExp(`^${escapeRegExp(name)}-(\\d+)$`);
  const index = (s: ServiceView): number => (s.name === name ? 0 : Number(numbered.exec(s.name)?.[1] ?? 0));
  return services.filter((s) => s.name === name || numbered.test(s.name)).sort((a, b) => index(a) - index(b));
}

async function waitReady(client: TitanClient, id: string, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const service = (await client.services()).find((s) => s.id === id);
    if (service?.ready === true) return;
    if (service === undefined) {
      const job = await client.status(id);
      throw new TitanError(
        ErrorCode.INVALID_REQUEST,
        `new replica ${name} (${id}) ended ${job.state} before it was ready: ${job.reason ?? 'see its logs'}; the old replicas keep running (titan logs ${id})`,
      );
    }
    if (Date.now() >= deadline) {
      await client.stopService(id).catch(() => undefined);
      throw new TitanError(
        ErrorCode.TIMEOUT,
        `new replica ${name} (${id}) was not ready within ${Math.round(timeoutMs / 1000)} s, so it was stopped; the old replicas keep running (titan logs ${id})`,
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function stopAndForget(client: TitanClient, old: ServiceView): Promise<void> {
  await client.stopService(old.id).catch((err: unknown) => {
    // Already gone (it ended on its own meanwhile): nothing left to replace.
    if (!(err instanceof TitanError && err.code === ErrorCode.UNKNOWN_JOB)) throw err;
  });
}

/**
 * Replaces the replicas of a running service one at a time: start the new one, wait until it
 * passes its readiness check, then stop the old one it replaces, so the service never has
 * fewer ready replicas than before. With a fixed port the old replica must free the port first,
 * so it is stopped before its replacement starts. A replacement that does not get ready stops
 * the rollout, leaving the remaining old replicas running.
 *
 * @example
 * await rollOut(client, 'api', { file: 'server-v2.js', service: { port: null } }, { replicas: 3 });
 */
export async function rollOut(client: TitanClient, name: string, input: SubmitInput, options: RolloutOptions = {}): Promise<RolloutResult> {
  const old = replicasOf(await client.services(), name);
  const replicas = options.replicas ?? Math.max(1, old.length);
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const fixedPort = (input.service?.port ?? null) !== null;
  const say = options.onStep ?? ((): void => undefined);
  const serviceIds: string[] = [];
  const replaced: string[] = [];
  for (let i = 0; i < Math.max(replicas, old.length); i++) {
    const previous = old[i];
    if (i >= replicas) {
      if (previous !== undefined) {
        say(`stopping ${previous.name} (${previous.id}): fewer replicas now`);
        await stopAndForget(client, previous);
        replaced.push(previous.id);
      }
      continue;
    }
    const replicaName = replicas > 1 ? `${name}-${i + 1}` : name;
    if (fixedPort && previous !== undefined) {
      say(`stopping ${previous.name} (${previous.id}) to free its port`);
      await stopAndForget(client, previous);
      replaced.push(previous.id);
    }
    const { jobId } = await client.submit({ ...input, name: replicaName });
    say(`started ${replicaName} (${jobId}); waiting until it is ready`);
    await waitReady(client, jobId, replicaName, readyTimeoutMs);
    serviceIds.push(jobId);
    if (!fixedPort && previous !== undefined) {
      say(`${replicaName} is ready; stopping ${previous.name} (${previous.id})`);
      await stopAndForget(client, previous);
      replaced.push(previous.id);
    }
  }
  return { serviceIds, replaced };
}
