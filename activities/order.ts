/** Order activities (task queue `orders`): record the saga's progress in the order database. */
import type { OrderProgress, OrderService } from '../services/order';

export function createOrderActivities({ orders }: { orders: OrderService }) {
  return {
    /** Stores status, step states and failure of an order; idempotent, a status change is kept in the history. */
    async recordOrderProgress(progress: OrderProgress): Promise<void> {
      await orders.recordProgress(progress);
    },
  };
}
