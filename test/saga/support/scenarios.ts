/**
 * Slow scenarios (timeouts, retry bounds) run side by side: every scenario of a file starts as soon as the
 * system is up, and each test awaits its own, so a file costs as long as its slowest scenario.
 */
export class Scenarios {
  private readonly definitions = new Map<string, () => Promise<void>>();
  private readonly running = new Map<string, Promise<void>>();

  /** Declares a scenario; it becomes a test of the same name. */
  add(name: string, scenario: () => Promise<void>): void {
    this.definitions.set(name, scenario);
  }

  /** Starts every scenario; call once the system is up (in beforeAll). */
  startAll(): void {
    for (const [name, scenario] of this.definitions) {
      const run = scenario();
      run.catch(() => undefined); // reported by the test that awaits it
      this.running.set(name, run);
    }
  }

  /** Registers one test per scenario, awaiting the scenario started by startAll. */
  defineTests(timeoutMs: number): void {
    for (const name of this.definitions.keys()) {
      test(
        name,
        async () => {
          const run = this.running.get(name);
          if (!run) throw new Error('startAll() was not called');
          await run;
        },
        timeoutMs,
      );
    }
  }

  /** Waits until every scenario has ended (so the system is not stopped under one). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.running.values());
  }
}
