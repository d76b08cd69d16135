/**
 * reconcileOrders: the sweep the order-reconciler schedule runs. One activity finds orders that have not ended
 * although their workflow has (or never started) and starts a cleanUpOrder for each; the result lists them.
 */
import { reconciler } from './activity-options';

export async function reconcileOrders(): Promise<{ examined: number; cleanedUp: string[] }> {
  return reconciler.reconcileOrphanedOrders();
}
