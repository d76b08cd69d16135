/** Order activities (task queue `orders`): record the saga's progress in the order database. */
import type { OrderProgress, OrderService, ProgressResult } from '../services/order';

export function createOrderActivities({ orders }: { orders: OrderService }) {
  return {
    /**
     * Stores status, step states and failure of an order; a status change is kept in the history. Idempotent
     * and ordered by `seq`: a repeated or older write changes nothing and reports `applied: false`.
     */
    async recordOrderProgress(progress: OrderProgress): Promise<ProgressResult> {
      return orders.recordProgress(progress);
    },
  };
}
