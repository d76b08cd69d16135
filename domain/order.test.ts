/** The line rules of an order and its total. */
import {
  MAX_ORDER_TOTAL,
  findLineRuleViolations,
  isOrderTotalAllowed,
  isTerminal,
  orderTotal,
  stepAfterUndo,
  type OrderLineInput,
} from './order';

function aLine(overrides: Partial<OrderLineInput> = {}): OrderLineInput {
  return { itemId: 1, quantity: 1, unitPrice: 10_000, discountedUnitPrice: 10_000, userCouponIds: [], ...overrides };
}

const codes = (lines: OrderLineInput[]) => findLineRuleViolations(lines).map(({ line, code }) => ({ line, code }));

describe('findLineRuleViolations', () => {
  test('when lines have distinct items, coupons only on single units and at most two each, then there is no violation', () => {
    expect(
      findLineRuleViolations([
        aLine({ itemId: 1, userCouponIds: [10, 11] }),
        aLine({ itemId: 2, quantity: 3 }),
        aLine({ itemId: 3, userCouponIds: [12] }),
      ]),
    ).toEqual([]);
  });

  test('when lines use no coupon at all, then there is no coupon violation (the original rejected them)', () => {
    expect(findLineRuleViolations([aLine({ quantity: 5 }), aLine({ itemId: 2, quantity: 2 })])).toEqual([]);
  });

  test('when an item appears on two lines, then the second line is a DUPLICATE_ITEM', () => {
    expect(codes([aLine({ itemId: 7 }), aLine({ itemId: 7 })])).toEqual([{ line: 1, code: 'DUPLICATE_ITEM' }]);
  });

  test('when a line uses three coupons, then it is TOO_MANY_COUPONS', () => {
    expect(codes([aLine({ userCouponIds: [1, 2, 3] })])).toEqual([{ line: 0, code: 'TOO_MANY_COUPONS' }]);
  });

  test('when a line with a coupon has quantity 2, then it is COUPON_NEEDS_SINGLE_UNIT', () => {
    expect(codes([aLine({ quantity: 2, userCouponIds: [1] })])).toEqual([
      { line: 0, code: 'COUPON_NEEDS_SINGLE_UNIT' },
    ]);
  });

  test('when a coupon appears on two lines, then the second line is COUPON_ON_SEVERAL_LINES', () => {
    expect(codes([aLine({ itemId: 1, userCouponIds: [5] }), aLine({ itemId: 2, userCouponIds: [5] })])).toEqual([
      { line: 1, code: 'COUPON_ON_SEVERAL_LINES' },
    ]);
  });

  test('when a coupon is listed twice on one line, then it is COUPON_ON_SEVERAL_LINES', () => {
    expect(codes([aLine({ userCouponIds: [5, 5] })])).toEqual([{ line: 0, code: 'COUPON_ON_SEVERAL_LINES' }]);
  });

  test('when a rule is broken, then the violation names the field and says why in its message', () => {
    // The gateway returns field and message in the 400 problem's errors, so the client can point at the input.
    const [duplicate] = findLineRuleViolations([aLine({ itemId: 7 }), aLine({ itemId: 7 })]);
    expect(duplicate).toEqual({
      line: 1,
      field: 'itemId',
      code: 'DUPLICATE_ITEM',
      message: 'item 7 appears on more than one line',
    });
    const [tooMany] = findLineRuleViolations([aLine({ userCouponIds: [1, 2, 3] })]);
    expect(tooMany).toEqual({
      line: 0,
      field: 'userCouponIds',
      code: 'TOO_MANY_COUPONS',
      message: 'at most 2 coupons per line',
    });
    const [singleUnit] = findLineRuleViolations([aLine({ quantity: 2, userCouponIds: [1] })]);
    expect(singleUnit).toEqual({
      line: 0,
      field: 'quantity',
      code: 'COUPON_NEEDS_SINGLE_UNIT',
      message: 'a line that uses coupons must have quantity 1',
    });
    const [severalLines] = findLineRuleViolations([
      aLine({ itemId: 1, userCouponIds: [5] }),
      aLine({ itemId: 2, userCouponIds: [5] }),
    ]);
    expect(severalLines).toEqual({
      line: 1,
      field: 'userCouponIds',
      code: 'COUPON_ON_SEVERAL_LINES',
      message: 'coupon 5 is used more than once',
    });
    const [twiceOnALine] = findLineRuleViolations([aLine({ userCouponIds: [5, 5] })]);
    expect(twiceOnALine).toEqual({
      line: 0,
      field: 'userCouponIds',
      code: 'COUPON_ON_SEVERAL_LINES',
      message: 'a coupon is listed twice on one line',
    });
  });

  test('when several rules are broken, then each violation names its line and field', () => {
    expect(
      findLineRuleViolations([aLine({ itemId: 1 }), aLine({ itemId: 1, quantity: 2, userCouponIds: [1, 2, 3] })]),
    ).toEqual([
      expect.objectContaining({ line: 1, field: 'itemId', code: 'DUPLICATE_ITEM' }),
      expect.objectContaining({ line: 1, field: 'userCouponIds', code: 'TOO_MANY_COUPONS' }),
      expect.objectContaining({ line: 1, field: 'quantity', code: 'COUPON_NEEDS_SINGLE_UNIT' }),
    ]);
  });
});

describe('orderTotal', () => {
  test('when lines have discounted prices and quantities, then the total is the sum of discounted price times quantity', () => {
    expect(
      orderTotal([
        aLine({ unitPrice: 49_800, discountedUnitPrice: 39_780 }),
        aLine({ itemId: 4, quantity: 2, unitPrice: 245_000, discountedUnitPrice: 245_000 }),
      ]),
    ).toBe(39_780 + 2 * 245_000);
  });

  test('when there are no lines, then the total is 0', () => {
    expect(orderTotal([])).toBe(0);
  });
});

describe('isOrderTotalAllowed', () => {
  test('when the total is exactly the maximum, then it is allowed; one won more is not', () => {
    const line = aLine({ quantity: 10_000, unitPrice: 100_000, discountedUnitPrice: 100_000 });
    expect(orderTotal([line])).toBe(MAX_ORDER_TOTAL);
    expect(isOrderTotalAllowed([line])).toBe(true);
    expect(isOrderTotalAllowed([line, aLine({ itemId: 2, unitPrice: 1, discountedUnitPrice: 1 })])).toBe(false);
  });

  test('when 10,000 coats of 245,000 are ordered (2,450,000,000, beyond a 32-bit column), then it is not allowed', () => {
    expect(
      isOrderTotalAllowed([aLine({ itemId: 4, quantity: 10_000, unitPrice: 245_000, discountedUnitPrice: 245_000 })]),
    ).toBe(false);
  });
});

describe('stepAfterUndo', () => {
  test('when the undo gave something back, then the step is COMPENSATED whatever it showed', () => {
    for (const before of ['NOT_STARTED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'COMPENSATION_FAILED'] as const) {
      expect(stepAfterUndo(before, true)).toBe('COMPENSATED');
    }
  });

  test('when a step that took effect finds nothing left to undo, then it is COMPENSATED (an earlier attempt did it)', () => {
    expect(stepAfterUndo('SUCCEEDED', false)).toBe('COMPENSATED');
    expect(stepAfterUndo('COMPENSATION_FAILED', false)).toBe('COMPENSATED');
    expect(stepAfterUndo('COMPENSATED', false)).toBe('COMPENSATED');
  });

  test('when a step never ran, then it stays NOT_STARTED; one attempted without effect is FAILED', () => {
    expect(stepAfterUndo('NOT_STARTED', false)).toBe('NOT_STARTED');
    expect(stepAfterUndo('RUNNING', false)).toBe('FAILED');
    expect(stepAfterUndo('FAILED', false)).toBe('FAILED');
  });
});

describe('isTerminal', () => {
  test('when an order is COMPLETED or CANCELLED, then it has ended; every other status has not', () => {
    expect(['COMPLETED', 'CANCELLED'].every((status) => isTerminal(status as 'COMPLETED'))).toBe(true);
    expect(['PENDING', 'FAILED', 'COMPENSATION_FAILED'].some((status) => isTerminal(status as 'PENDING'))).toBe(false);
  });
});
