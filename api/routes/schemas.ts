/** Request and response schemas shared by the routes and the OpenAPI document. */
import { z } from 'zod';
import { COUPON_TYPES } from '../../domain/coupons';
import { DEFAULT_CARD_TOKEN, TestCardToken } from '../../domain/card-tokens';
import { OrderFailureReason } from '../../domain/failure-reasons';
import { ORDER_STATUSES, STEP_STATUSES } from '../../domain/order';
import '../http';

const money = z.number().int().min(0).max(1_000_000_000);
const id = z.number().int().positive().max(2_147_483_647);

export const ItemSchema = z
  .object({
    id,
    name: z.string(),
    size: z.string(),
    price: money,
    stockQuantity: z.number().int(),
    version: z.number().int(),
  })
  .openapi('Item');

export const OrderStatusSchema = z.enum(ORDER_STATUSES);
const StepStatusSchema = z.enum(STEP_STATUSES);

export const OrderLineRequestSchema = z
  .object({
    itemId: id,
    quantity: z.number().int().min(1).max(10_000),
    unitPrice: money,
    discountedUnitPrice: money
      .optional()
      .openapi({ description: 'Required when the line uses coupons; defaults to unitPrice otherwise.' }),
    userCouponIds: z.array(id).max(10).optional(),
  })
  .strict()
  .refine((line) => !line.userCouponIds?.length || line.discountedUnitPrice !== undefined, {
    message: 'discountedUnitPrice is required when the line uses coupons',
    path: ['discountedUnitPrice'],
  });

export const PlaceOrderRequestSchema = z
  .object({
    lines: z.array(OrderLineRequestSchema).min(1).max(50),
    payment: z
      .object({ token: z.string().min(1).max(100).openapi({ example: TestCardToken.approve }) })
      .strict()
      .optional()
      .openapi({
        description: `Simulated card: ${TestCardToken.approve} approves, ${TestCardToken.decline} is declined, ${TestCardToken.hang} hangs. Default ${DEFAULT_CARD_TOKEN}.`,
      }),
  })
  .strict()
  .openapi('PlaceOrderRequest');

export const OrderLineSchema = z.object({
  itemId: id,
  quantity: z.number().int(),
  unitPrice: money,
  discountedUnitPrice: money,
  userCouponIds: z.array(id),
});

export const OrderSchema = z
  .object({
    orderId: z.uuid(),
    status: OrderStatusSchema,
    customerId: id,
    lines: z.array(OrderLineSchema),
    totalPrice: money,
    failureReason: z.enum(OrderFailureReason).optional(),
    failureDetail: z.string().optional(),
    steps: z.object({ items: StepStatusSchema, coupons: StepStatusSchema, payment: StepStatusSchema }),
    history: z.array(z.object({ status: OrderStatusSchema, at: z.string(), detail: z.string().optional() })),
    workflowId: z.string(),
    createdAt: z.string(),
  })
  .openapi('Order');

export const CouponSchema = z
  .object({
    id,
    name: z.string(),
    type: z.enum(COUPON_TYPES),
    discountAmount: money.optional(),
    discountPercent: z.number().int().optional(),
    validFrom: z.string(),
    validUntil: z.string(),
  })
  .openapi('Coupon');

export const UserCouponSchema = CouponSchema.omit({ id: true })
  .extend({ id, couponId: id, used: z.boolean(), usedByOrderId: z.string().nullable() })
  .openapi('UserCoupon');

export { id as IdSchema, money as MoneySchema };
