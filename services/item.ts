/** Item service: the catalog and its stock. The only code that reads or writes the item database. */
import { BusinessRuleError, FailureReason } from '../domain/failure-reasons';
import type { ItemDb } from '../lib/databases';
import { isUniqueViolation } from '../lib/databases';
import { OrderAlreadyUndoneError, ServiceError, notFound } from '../lib/errors';

export interface Item {
  id: number;
  name: string;
  size: string;
  price: number;
  stockQuantity: number;
  version: number;
}

export interface NewItem {
  name: string;
  size: string;
  price: number;
  stockQuantity: number;
}

export interface ItemChanges extends Partial<NewItem> {
  version: number;
}

export interface StockLine {
  itemId: number;
  quantity: number;
  unitPrice: number;
}

const itemFields = { id: true, name: true, size: true, price: true, stockQuantity: true, version: true } as const;

type ItemTx = Parameters<Parameters<ItemDb['$transaction']>[0]>[0];

/**
 * Decrements a line's stock only if the item still has the order's price and enough stock, in one statement:
 * the condition is checked on the row version the update writes, so an admin price change committed meanwhile
 * can never slip between a price check and the decrement (the update waits for the change, then re-checks).
 */
async function takeStock(tx: ItemTx, line: StockLine): Promise<void> {
  const decremented = await decrementIfPriceAndStockMatch(tx, line);
  if (decremented) return;
  // Nothing updated: lock the row and find out why. Holding the lock, what we read is what a retry would see.
  const [item] = await tx.$queryRaw<{ price: number; stock: number }[]>`
    SELECT price, stock_quantity AS stock FROM items WHERE id = ${line.itemId} FOR UPDATE`;
  if (!item) throw new BusinessRuleError(FailureReason.ITEM_NOT_FOUND, `item ${line.itemId} does not exist`);
  if (item.price !== line.unitPrice) {
    throw new BusinessRuleError(
      FailureReason.PRICE_MISMATCH,
      `item ${line.itemId} costs ${item.price}, the order says ${line.unitPrice}`,
    );
  }
  if (item.stock < line.quantity) {
    throw new BusinessRuleError(
      FailureReason.OUT_OF_STOCK,
      `item ${line.itemId} has fewer than ${line.quantity} in stock`,
    );
  }
  // The row changed back between the update and the lock (say, a price edit undone); it is locked now, so this holds.
  if (!(await decrementIfPriceAndStockMatch(tx, line))) {
    throw new Error(`item ${line.itemId}: the locked row refused a decrement it allows`);
  }
}

async function decrementIfPriceAndStockMatch(tx: ItemTx, line: StockLine): Promise<boolean> {
  const updated = await tx.$executeRaw`
    UPDATE items SET stock_quantity = stock_quantity - ${line.quantity}, version = version + 1, updated_at = now()
    WHERE id = ${line.itemId} AND price = ${line.unitPrice} AND stock_quantity >= ${line.quantity}`;
  return updated === 1;
}

export function createItemService(db: ItemDb) {
  return {
    async listItems(ids?: number[]): Promise<Item[]> {
      return db.item.findMany({ where: ids ? { id: { in: ids } } : {}, select: itemFields, orderBy: { id: 'asc' } });
    },

    async getItem(id: number): Promise<Item | null> {
      return db.item.findUnique({ where: { id }, select: itemFields });
    },

    /** The item, or NOT_FOUND: for callers that cannot go on without it. */
    async requireItem(id: number): Promise<Item> {
      const item = await db.item.findUnique({ where: { id }, select: itemFields });
      if (!item) throw notFound('item', id);
      return item;
    },

    async createItem(item: NewItem): Promise<Item> {
      try {
        return await db.item.create({ data: item, select: itemFields });
      } catch (error) {
        if (isUniqueViolation(error))
          throw new ServiceError('DUPLICATE', `an item named "${item.name}" in size "${item.size}" exists`);
        throw error;
      }
    },

    /** Applies an admin edit only if the item is still at the version the admin read (optimistic locking). */
    async updateItem(id: number, { version, ...changes }: ItemChanges): Promise<Item> {
      try {
        const { count } = await db.item.updateMany({
          where: { id, version },
          data: { ...changes, version: { increment: 1 } },
        });
        if (count === 0) {
          const exists = await db.item.count({ where: { id } });
          if (!exists) throw notFound('item', id);
          throw new ServiceError('STALE_VERSION', `item ${id} changed since version ${version}; read it again`);
        }
      } catch (error) {
        if (isUniqueViolation(error)) throw new ServiceError('DUPLICATE', 'another item has that name and size');
        throw error;
      }
      return (await db.item.findUnique({ where: { id }, select: itemFields }))!;
    },

    /**
     * Reserves stock for every line of an order in one transaction, or none. Idempotent per order: a second
     * call for a reserved order changes nothing; a call after the order's release is refused.
     */
    async reserveStock(orderId: string, lines: StockLine[]): Promise<{ newlyReserved: boolean }> {
      // The gateway rejects such lines; this guards callers that bypass it (a negative quantity would add stock).
      if (lines.some((line) => !Number.isSafeInteger(line.quantity) || line.quantity < 1)) {
        throw new Error(`order ${orderId}: every quantity must be a whole number >= 1`);
      }
      return db.$transaction(async (tx) => {
        const inserted = await tx.$executeRaw`
          INSERT INTO stock_reservations (order_id, status, created_at, updated_at)
          VALUES (${orderId}, 'RESERVED', now(), now()) ON CONFLICT (order_id) DO NOTHING`;
        if (inserted === 0) {
          const existing = await tx.stockReservation.findUniqueOrThrow({ where: { orderId } });
          if (existing.status === 'RESERVED') return { newlyReserved: false };
          throw new OrderAlreadyUndoneError(orderId, 'the stock reservation');
        }
        // A fixed lock order keeps concurrent multi-line orders from deadlocking.
        for (const line of [...lines].sort((a, b) => a.itemId - b.itemId)) {
          await takeStock(tx, line);
          await tx.reservedLine.create({ data: { orderId, itemId: line.itemId, quantity: line.quantity } });
        }
        return { newlyReserved: true };
      });
    },

    /**
     * Gives back exactly what the order reserved, once. With nothing reserved it leaves a RELEASED marker so
     * that a late reservation attempt for the order is refused.
     */
    async releaseStock(orderId: string): Promise<{ undone: boolean }> {
      return db.$transaction(async (tx) => {
        const inserted = await tx.$executeRaw`
          INSERT INTO stock_reservations (order_id, status, created_at, updated_at)
          VALUES (${orderId}, 'RELEASED', now(), now()) ON CONFLICT (order_id) DO NOTHING`;
        if (inserted === 1) return { undone: false };
        const [reservation] = await tx.$queryRaw<{ status: string }[]>`
          SELECT status::text FROM stock_reservations WHERE order_id = ${orderId} FOR UPDATE`;
        if (reservation?.status !== 'RESERVED') return { undone: false };
        const lines = await tx.reservedLine.findMany({ where: { orderId }, orderBy: { itemId: 'asc' } });
        for (const line of lines) {
          await tx.$executeRaw`
            UPDATE items SET stock_quantity = stock_quantity + ${line.quantity}, version = version + 1, updated_at = now()
            WHERE id = ${line.itemId}`;
        }
        await tx.stockReservation.update({ where: { orderId }, data: { status: 'RELEASED' } });
        return { undone: true };
      });
    },

    /** What the item database holds for an order (for tests and operators). */
    async reservationOf(orderId: string) {
      return db.stockReservation.findUnique({ where: { orderId }, include: { lines: true } });
    },
  };
}

export type ItemService = ReturnType<typeof createItemService>;
