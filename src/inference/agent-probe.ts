import { execFile } from 'node:child_process';
import { cpus, freemem, totalmem } from 'node:os';
import { z } from 'zod';
import type { InferenceModel } from '../protocol/inference-messages.js';

type Model = z.infer<typeof InferenceModel>;

const Tags = z.object({ models: z.array(z.object({ name: z.string().min(1), size: z.number().min(0).optional() }).loose()) }).loose();

export interface ProbeOptions {
  /** The Ollama-compatible server, e.g. http://127.0.0.1:11434. */
  readonly serverUrl: string;
  /** Fixed VRAM figures (MB), for machines whose GPUs nvidia-smi cannot see, or tests. */
  readonly vramTotalMb?: number;
  readonly vramFreeMb?: number;
  readonly timeoutMs?: number;
}

export interface ProbeReading {
  readonly models: readonly Model[];
  readonly serverError: string | undefined;
  readonly vramTotalMb: number;
  readonly vramFreeMb: number;
  readonly ramTotalMb: number;
  readonly ramFreeMb: number;
  readonly cpuPercent: number;
}

/**
 * What an agent knows of its machine and its model server: models from `/api/tags`, VRAM from
 * nvidia-smi when it is installed (0 otherwise, unless configured), RAM and CPU use from the OS.
 * `refresh()` runs in the background; `reading` is always the last complete one.
 */
export class AgentProbe {
  reading: ProbeReading;
  private lastCpu = cpuTimes();
  private nvidiaSmi: 'unknown' | 'present' | 'absent' = 'unknown';
  private refreshing: Promise<void> | null = null;

  constructor(private readonly options: ProbeOptions) {
    this.reading = {
      models: [],
      serverError: 'not probed yet',
      vramTotalMb: options.vramTotalMb ?? 0,
      vramFreeMb: options.vramFreeMb ?? options.vramTotalMb ?? 0,
      ramTotalMb: mb(totalmem()),
      ramFreeMb: mb(freemem()),
      cpuPercent: 0,
    };
  }

  refresh(): Promise<void> {
    this.refreshing ??= this.probe().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async probe(): Promise<void> {
    const [tags, vram] = await Promise.all([this.tags(), this.vram()]);
    const now = cpuTimes();
    const busy = now.busy - this.lastCpu.busy;
    const total = now.total - this.lastCpu.total;
    this.lastCpu = now;
    this.reading = {
      models: tags.models,
      serverError: tags.error,
      vramTotalMb: vram.totalMb,
      vramFreeMb: vram.freeMb,
      ramTotalMb: mb(totalmem()),
      ramFreeMb: mb(freemem()),
      cpuPercent: total > 0 ? Math.min(100, Math.max(0, (100 * busy) / total)) : this.reading.cpuPercent,
    };
  }

  private async tags(): Promise<{ models: Model[]; error: string | undefined }> {
    const url = `${this.options.serverUrl.replace(/\/+$/, '')}/api/tags`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.options.timeoutMs ?? 3_000) });
      if (!res.ok) return { models: [], error: `GET ${url} answered ${res.status}` };
      const parsed = Tags.safeParse(await res.json());
      if (!parsed.success) return { models: [], error: `GET ${url} did not answer an Ollama model list` };
      return { models: parsed.data.models.map((m) => (m.size !== undefined ? { name: m.name, sizeMb: mb(m.size) } : { name: m.name })), error: undefined };
    } catch (err) {
      return { models: [], error: `GET ${url} failed: ${(err as Error).message}` };
    }
  }

  private async vram(): Promise<{ totalMb: number; freeMb: number }> {
    const fixed = this.options.vramTotalMb;
    if (fixed !== undefined) return { totalMb: fixed, freeMb: Math.min(fixed, this.options.vramFreeMb ?? fixed) };
    if (this.nvidiaSmi === 'absent') return { totalMb: 0, freeMb: 0 };
    const out = await new Promise<string | null>((resolve) => {
      execFile('nvidia-smi', ['--query-gpu=memory.total,memory.free', '--format=csv,noheader,nounits'], { timeout: 3_000 }, (err, stdout) => {
        if (err !== null) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.nvidiaSmi = 'absent';
          resolve(null);
        } else resolve(stdout);
      });
    });
    if (out === null) return { totalMb: 0, freeMb: 0 };
    this.nvidiaSmi = 'present';
    return parseNvidiaSmi(out);
  }
}

/** Sums `memory.total, memory.free` (MiB) over every GPU nvidia-smi lists. */
export function parseNvidiaSmi(csv: string): { totalMb: number; freeMb: number } {
  let totalMb = 0;
  let freeMb = 0;
  for (const line of csv.split('\n')) {
    const [total, free] = line.split(',').map((v) => Number(v.trim()));
    if (total === undefined || free === undefined || !Number.isFinite(total) || !Number.isFinite(free)) continue;
    totalMb += total;
    freeMb += free;
  }
  return { totalMb, freeMb };
}

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const t = cpu.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

function mb(bytes: number): number {
  return Math.round(bytes / 1048576);
}
