/** What the executor needs of a job's process, spawned or forked by a warm interpreter, and how it reads its output. */
import type { Readable } from 'node:stream';
import type { LogFile } from './log-file.js';
import type { LineSplitter } from './output-lines.js';
import { Valve, type OutputGate } from './output-flow.js';
import type { Timers } from '../common/timers.js';

export interface JobChild {
  readonly pid?: number | undefined;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** Set on a warm child whose server died: its exit status is unknown and the job was stopped. */
  readonly lostReason?: string | undefined;
  once(event: 'exit' | 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  once(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown;
}

/** Every chunk goes to the raw log file and to the line splitter, in order; the pipe is not read while the gate is closed. */
export function pump(source: Readable | null, file: LogFile, lines: LineSplitter, gate: OutputGate): Valve | undefined {
  if (source === null) return undefined;
  const valve = new Valve(source);
  let waiting = false;
  source.on('data', (chunk: Buffer) => {
    file.write(chunk, valve);
    lines.push(chunk, Date.now());
    if (gate.open || waiting) return;
    waiting = true;
    valve.hold('gate');
    gate.whenOpen(() => {
      waiting = false;
      valve.release('gate');
    });
  });
  return valve;
}

/**
 * Ends the pipes of an exited job. One we stopped reading (the link or the disk is behind) may
 * still hold output and is given more time: it ends by itself once read, its writers being gone.
 */
export function closePipes(child: JobChild, valves: ReadonlyArray<Valve | undefined>, timers: Timers, graceMs: number): void {
  if (valves.some((valve) => valve?.held === true)) {
    timers.after(graceMs, () => closePipes(child, valves, timers, graceMs));
    return;
  }
  child.stdout?.destroy();
  child.stderr?.destroy();
}
