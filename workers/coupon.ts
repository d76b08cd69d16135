/** The coupon service's worker process: runs coupon activities on the `coupons` task queue against the coupon database. */
import { createCouponActivities } from '../activities/coupon';
import { connectCouponDb } from '../lib/databases';
import { createCouponService } from '../services/coupon';
import { TaskQueue } from '../workflows/definitions';
import { exitOnFailure, runWorker } from './run-worker';

const db = connectCouponDb();
exitOnFailure(
  'coupon',
  runWorker(
    'coupon',
    { taskQueue: TaskQueue.coupons, activities: createCouponActivities({ coupons: createCouponService(db) }) },
    () => db.$disconnect(),
  ),
);
