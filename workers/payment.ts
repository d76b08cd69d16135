/** The payment service's worker process: runs the simulated card gateway's activities on the `payments` task queue. */
import { runServiceWorker } from './run-worker';

runServiceWorker('payment', ({ extras }) => ({
  settings: { cardGatewayHangMs: extras.cardGatewayHangMs },
  workerOptions: { maxConcurrentActivityTaskExecutions: extras.maxConcurrentCharges },
}));
