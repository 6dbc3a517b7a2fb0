import { describe, expect, it } from "vitest";
import { createPassRunner } from "../src/lib/pass-runner";

/** A run the test finishes by hand, so the order of events is explicit and no timing is involved. */
function controllableRuns() {
  const runs: { finish(): void; fail(error: unknown): void }[] = [];
  let active = 0;
  let maxActive = 0;
  const run = () =>
    new Promise<void>((resolve, reject) => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs.push({
        finish: () => {
          active--;
          resolve();
        },
        fail: (error) => {
          active--;
          reject(error);
        },
      });
    });
  return { run, runs, maxActive: () => maxActive };
}

/** Lets every pending promise callback run (the runner chains on promises, never on timers). */
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe("the pass runner", () => {
  it("starts a run at once when idle", () => {
    const { run, runs } = controllableRuns();
    const runner = createPassRunner(run);
    runner.request();
    expect(runs).toHaveLength(1);
    expect(runner.running).toBe(true);
  });

  it("a request that arrives during a run gets exactly one more run right after it", async () => {
    const { run, runs, maxActive } = controllableRuns();
    const runner = createPassRunner(run);
    runner.request();
    runner.request(); // a confirmation lands mid-pass
    expect(runs).toHaveLength(1);

    runs[0]!.finish();
    await settle();
    expect(runs).toHaveLength(2);

    runs[1]!.finish();
    await settle();
    expect(runs).toHaveLength(2);
    expect(runner.running).toBe(false);
    expect(maxActive()).toBe(1);
  });

  it("many requests during one run coalesce into a single follow-up run", async () => {
    const { run, runs } = controllableRuns();
    const runner = createPassRunner(run);
    runner.request();
    for (let i = 0; i < 5; i++) runner.request();
    runs[0]!.finish();
    await settle();
    runs[1]!.finish();
    await settle();
    expect(runs).toHaveLength(2);
  });

  it("a request during the follow-up run gets another run after that one", async () => {
    const { run, runs } = controllableRuns();
    const runner = createPassRunner(run);
    runner.request();
    runner.request();
    runs[0]!.finish();
    await settle();
    runner.request();
    runs[1]!.finish();
    await settle();
    expect(runs).toHaveLength(3);
  });

  it("a failed run is reported and does not stop the follow-up run", async () => {
    const { run, runs } = controllableRuns();
    const errors: unknown[] = [];
    const runner = createPassRunner(run, (error) => errors.push(error));
    runner.request();
    runner.request();
    runs[0]!.fail(new Error("database unreachable"));
    await settle();
    expect(errors).toEqual([new Error("database unreachable")]);
    expect(runs).toHaveLength(2);
  });

  it("a run that throws before returning a promise is reported like a rejection", async () => {
    const errors: unknown[] = [];
    const runner = createPassRunner(() => {
      throw new Error("boom");
    }, (error) => errors.push(error));
    runner.request();
    await runner.stop();
    expect(errors).toEqual([new Error("boom")]);
  });

  it("stop waits for the run in progress, drops the pending follow-up and refuses new requests", async () => {
    const { run, runs } = controllableRuns();
    const runner = createPassRunner(run);
    runner.request();
    runner.request();
    let stopped = false;
    const stopping = runner.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);

    runs[0]!.finish();
    await stopping;
    runner.request();
    expect(runs).toHaveLength(1);
    expect(runner.running).toBe(false);
  });

  it("stop resolves at once when nothing runs", async () => {
    const runner = createPassRunner(async () => {});
    await runner.stop();
    expect(runner.running).toBe(false);
  });
});
