/** The item service's worker process: runs item activities on the `items` task queue against the item database. */
import { createItemActivities } from '../activities/item';
import { connectItemDb } from '../lib/databases';
import { createItemService } from '../services/item';
import { TaskQueue } from '../workflows/definitions';
import { exitOnFailure, runWorker } from './run-worker';

const db = connectItemDb();
exitOnFailure(
  'item',
  runWorker(
    'item',
    { taskQueue: TaskQueue.items, activities: createItemActivities({ items: createItemService(db) }) },
    () => db.$disconnect(),
  ),
);
