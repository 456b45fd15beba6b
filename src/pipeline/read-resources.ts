import { isMap, isScalar } from 'yaml';
import { parseMemoryMb } from '../core/resources.js';
import { RESOURCES_KEYS, type PipelineJob } from './pipeline.js';
import { describe, isNull } from './yaml-reader.js';
import type { YamlReader } from './yaml-reader.js';

type Resources = NonNullable<PipelineJob['resources']>;

/** `resources: { cpu: 0.5, memory: 256M, gpu: 1 }`, every problem reported at its line. */
export function readResources(r: YamlReader, node: unknown, what: string): Resources | null | undefined {
  const value = r.resolve(node);
  if (isNull(value)) return null;
  if (!isMap(value)) {
    r.report(node, `${what} must be a map like { cpu: 1, memory: 256M, gpu: 0 }, not ${describe(value)}`);
    return undefined;
  }
  const entries = r.entries(value);
  r.checkKeys(entries, RESOURCES_KEYS, `in ${what.replace(/^(.*): (\w+)$/, '$2 of $1')}`);
  const out: { cpu?: number; memoryMb?: number; gpu?: number } = {};
  let ok = true;
  for (const entry of entries) {
    if (entry.key === 'cpu') {
      const cpu = r.number(entry.value, `${what}.cpu`, { min: 0, max: 4096 });
      if (cpu === undefined) ok = false;
      else if (cpu > 0) out.cpu = cpu;
    } else if (entry.key === 'gpu') {
      const gpu = r.number(entry.value, `${what}.gpu`, { integer: true, min: 0, max: 64 });
      if (gpu === undefined) ok = false;
      else if (gpu > 0) out.gpu = gpu;
    } else if (entry.key === 'memory') {
      const raw = r.resolve(entry.value);
      const given = isScalar(raw) && (typeof raw.value === 'number' || typeof raw.value === 'string') ? raw.value : undefined;
      const mb = given === undefined ? { problem: `must be a size like 256M, not ${describe(raw)}` } : parseMemoryMb(given);
      if (typeof mb === 'number') {
        if (mb > 0) out.memoryMb = mb;
      } else {
        r.report(entry.value, `${what}.memory: ${mb.problem}`);
        ok = false;
      }
    }
  }
  return ok ? out : undefined;
}
