/** The coupon service's worker process: coupon activities on the `coupons` task queue, against the coupon database. */
import { runServiceWorker } from './run-worker';

runServiceWorker('coupon');
