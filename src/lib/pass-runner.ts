/**
 * Runs a job (a dispatcher pass) one at a time, and never loses a request: a request that arrives
 * while a run is in progress is remembered and answered by exactly one more run right after it.
 * Any number of requests during one run coalesce into that single follow-up run.
 *
 * Why: lesson 1 should go out as soon as a person confirms. A confirmation that lands while a
 * pass is running may be committed after that pass's claim, so that pass cannot see it; dropping
 * the request would leave the person waiting for the next timer tick (a minute by default).
 */
export interface PassRunner {
  /** Asks for a run: starts one now if idle, otherwise schedules one more after the current run. */
  request(): void;
  /**
   * Stops accepting requests (a pending follow-up run is dropped) and resolves once the run in
   * progress, if any, has finished. Never rejects.
   */
  stop(): Promise<void>;
  /** Whether a run is in progress. */
  readonly running: boolean;
}

/**
 * `run` is called with no overlap. Its rejections are handed to `onError` (default: ignored) so
 * one failed run does not stop later ones.
 */
export function createPassRunner(run: () => Promise<unknown>, onError: (error: unknown) => void = () => {}): PassRunner {
  let current: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  function start() {
    again = false;
    current = (async () => {
      try {
        await run();
      } catch (error) {
        onError(error);
      }
    })().finally(() => {
      current = undefined;
      if (again && !stopped) start();
    });
  }

  return {
    request() {
      if (stopped) return;
      if (current) again = true;
      else start();
    },
    async stop() {
      stopped = true;
      again = false;
      // A follow-up run may have started in the `finally` above before `stop` was called: wait
      // for whatever is current until nothing is.
      while (current) await current;
    },
    get running() {
      return current !== undefined;
    },
  };
}
