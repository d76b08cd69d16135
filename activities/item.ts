/** Item activities (task queue `items`): reserve the stock of an order, and release it on undo. */
import type { OrderLineInput } from '../domain/order';
import type { ItemService } from '../services/item';
import { asActivity, asUndo } from './temporal-failures';

export interface ReserveStockInput {
  orderId: string;
  lines: Pick<OrderLineInput, 'itemId' | 'quantity' | 'unitPrice'>[];
}

export function createItemActivities({ items }: { items: ItemService }) {
  return {
    /** Checks existence, price and stock of every line and reserves them all atomically, once per order. */
    async reserveStock({ orderId, lines }: ReserveStockInput): Promise<{ newlyReserved: boolean }> {
      return asActivity(() =>
        items.reserveStock(
          orderId,
          lines.map(({ itemId, quantity, unitPrice }) => ({ itemId, quantity, unitPrice })),
        ),
      );
    },

    /** Undo of reserveStock: restores exactly what the order reserved; harmless when nothing was. */
    async releaseStock({ orderId }: { orderId: string }): Promise<{ undone: boolean }> {
      return asUndo(() => items.releaseStock(orderId));
    },
  };
}
