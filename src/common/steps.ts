import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Long work written once as a generator that yields between bounded steps, run either at once
 * (`runSteps`) or a step per turn of the event loop (`runStepsInTurns`), so a large input never
 * holds the loop for the whole of it while a small one pays nothing.
 */
export function runSteps<T>(steps: Generator<unknown, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/** Runs `steps`, letting the loop turn after each yield. */
export async function runStepsInTurns<T>(steps: Generator<unknown, T>): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
    await nextTurn();
  }
}
