/**
 * CPU-heavy work written once, as a generator that yields between slices, and run either in one
 * go (inside a batch's transaction, where nothing else is waiting on this process) or a slice at a
 * time (the fold-ahead, which runs while Postgres copies the current batch's rows: between slices
 * the event loop writes the next COPY data to the socket, so Postgres is not left idle).
 */
export type WorkSteps<T> = Generator<void, T, void>;

/** Runs the work to completion without giving the event loop a turn. */
export function runAtOnce<T>(steps: WorkSteps<T>): T {
  let step = steps.next();
  while (step.done !== true) step = steps.next();
  return step.value;
}

/** Runs the work a slice at a time, giving the event loop a turn (sockets, timers) after each. */
export async function runInSlices<T>(steps: WorkSteps<T>): Promise<T> {
  let step = steps.next();
  while (step.done !== true) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    step = steps.next();
  }
  return step.value;
}
