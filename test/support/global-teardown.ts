/** Stops the shared Temporal server and PostgreSQL started by global-setup. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.orderSagaTestInfrastructure?.stop();
}
