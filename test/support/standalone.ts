/**
 * Runs a script (history recorder, benchmark) on the same real infrastructure as the tests: PostgreSQL and a
 * Temporal dev server on free ports, then the whole system in this process. Stops everything and exits with the
 * script's outcome.
 */
import globalSetup from './global-setup';
import { startTestSystem, type TestSystem, type TestSystemOptions } from './system';

export function runStandalone(script: (system: TestSystem) => Promise<void>, options: TestSystemOptions = {}): void {
  const run = async () => {
    await globalSetup();
    const system = await startTestSystem(options);
    try {
      await script(system);
    } finally {
      await system.stop();
      await globalThis.orderSagaTestInfrastructure?.stop();
    }
  };
  run().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
