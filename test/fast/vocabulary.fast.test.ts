/**
 * The order vocabulary is defined once, in domain/: the order database's enums and the API's schemas must hold
 * exactly the same words, or a status could be stored that the API does not document (or the reverse).
 */
import { OrderStatus as StoredOrderStatus, StepStatus as StoredStepStatus } from '../../prisma/order/generated/enums';
import { COUPON_TYPES } from '../../domain/coupons';
import { OrderFailureReason } from '../../domain/failure-reasons';
import { ORDER_STATUSES, STEP_NAMES, STEP_STATUSES } from '../../domain/order';
import { CouponSchema, OrderSchema, OrderStatusSchema } from '../../api/routes/schemas';

describe('vocabulary', () => {
  test('when the order database enums are read, then they are the domain statuses in the same order', () => {
    expect(Object.values(StoredOrderStatus)).toEqual([...ORDER_STATUSES]);
    expect(Object.values(StoredStepStatus)).toEqual([...STEP_STATUSES]);
  });

  test('when the API schemas are read, then they offer exactly the domain words', () => {
    const { steps, failureReason } = OrderSchema.shape;
    expect(OrderStatusSchema.options).toEqual([...ORDER_STATUSES]);
    expect(Object.keys(steps.shape)).toEqual([...STEP_NAMES]);
    for (const step of STEP_NAMES) expect(steps.shape[step].options).toEqual([...STEP_STATUSES]);
    expect([...failureReason.unwrap().options].sort()).toEqual(Object.values(OrderFailureReason).sort());
    expect(CouponSchema.shape.type.options).toEqual([...COUPON_TYPES]);
  });
});
