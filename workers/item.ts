/** The item service's worker process: item activities on the `items` task queue, against the item database. */
import { runServiceWorker } from './run-worker';

runServiceWorker('item');
