/** The coupon arithmetic of docs/domain.md, by its worked examples and at the edges of each rule. */
import { applyCoupons, type CouponTerms } from './coupons';
import { BusinessRuleError } from './failure-reasons';

const fixed = (discountAmount: number): CouponTerms => ({ type: 'FIXED', discountAmount });
const ratio = (discountPercent: number): CouponTerms => ({ type: 'RATIO', discountPercent });

function policyViolation(run: () => unknown): BusinessRuleError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BusinessRuleError);
    expect((error as BusinessRuleError).reason).toBe('COUPON_POLICY_VIOLATION');
    return error as BusinessRuleError;
  }
  throw new Error('expected a COUPON_POLICY_VIOLATION');
}

describe('worked examples', () => {
  test('when 49800 gets FIXED 3000 and RATIO 15%, then it costs 39780', () => {
    expect(applyCoupons(49_800, [fixed(3_000), ratio(15)])).toBe(39_780);
  });

  test('when 49800 gets FIXED 3000 alone, then it costs 46800', () => {
    expect(applyCoupons(49_800, [fixed(3_000)])).toBe(46_800);
  });

  test('when 49800 gets RATIO 15% alone, then it costs 42330', () => {
    expect(applyCoupons(49_800, [ratio(15)])).toBe(42_330);
  });

  test('when 10000 gets FIXED 1000 and RATIO 10%, then it costs 8100', () => {
    expect(applyCoupons(10_000, [fixed(1_000), ratio(10)])).toBe(8_100);
  });

  test('when no coupon is used, then the price is unchanged', () => {
    expect(applyCoupons(49_800, [])).toBe(49_800);
  });
});

describe('order of application', () => {
  test('when the RATIO coupon is listed before the FIXED one, then FIXED still applies first', () => {
    expect(applyCoupons(49_800, [ratio(15), fixed(3_000)])).toBe(39_780);
    expect(applyCoupons(10_000, [ratio(10), fixed(1_000)])).toBe(8_100);
    // Applied in the listed order it would have been 10000 * 0.9 - 1000 = 8000.
    expect(applyCoupons(10_000, [ratio(10), fixed(1_000)])).not.toBe(8_000);
  });

  test('when two FIXED coupons are used, then the second may take at most half of what the first left', () => {
    expect(applyCoupons(10_000, [fixed(5_000), fixed(2_500)])).toBe(2_500);
    policyViolation(() => applyCoupons(10_000, [fixed(5_000), fixed(2_501)]));
  });

  test('when two RATIO coupons are used, then each truncates in turn', () => {
    // 999 * 0.9 = 899.1 -> 899; 899 * 0.9 = 809.1 -> 809
    expect(applyCoupons(999, [ratio(10), ratio(10)])).toBe(809);
  });
});

describe('the fixed coupon cap: at most half of the running price', () => {
  test('when a FIXED coupon takes exactly half, then it is allowed', () => {
    expect(applyCoupons(10_000, [fixed(5_000)])).toBe(5_000);
  });

  test('when a FIXED coupon takes more than half, then it is a COUPON_POLICY_VIOLATION', () => {
    policyViolation(() => applyCoupons(10_000, [fixed(5_001)]));
  });

  test('when the price is odd, then half is rounded down', () => {
    expect(applyCoupons(10_001, [fixed(5_000)])).toBe(5_001);
    policyViolation(() => applyCoupons(10_001, [fixed(5_001)]));
  });

  test('when a FIXED coupon is 0, then it is allowed and changes nothing', () => {
    expect(applyCoupons(10_000, [fixed(0)])).toBe(10_000);
  });

  test('when a FIXED coupon is negative or fractional, then it is a COUPON_POLICY_VIOLATION', () => {
    policyViolation(() => applyCoupons(10_000, [fixed(-1)]));
    policyViolation(() => applyCoupons(10_000, [fixed(10.5)]));
  });
});

describe('the ratio range: 5..95%', () => {
  test('when the ratio is 5% or 95%, then it is allowed', () => {
    expect(applyCoupons(10_000, [ratio(5)])).toBe(9_500);
    expect(applyCoupons(10_000, [ratio(95)])).toBe(500);
  });

  test('when the ratio is 4% or 96%, then it is a COUPON_POLICY_VIOLATION', () => {
    policyViolation(() => applyCoupons(10_000, [ratio(4)]));
    policyViolation(() => applyCoupons(10_000, [ratio(96)]));
  });

  test('when the ratio is not a whole percent, then it is a COUPON_POLICY_VIOLATION', () => {
    policyViolation(() => applyCoupons(10_000, [ratio(12.5)]));
  });
});

describe('truncation and bounds', () => {
  test('when a ratio discount leaves a fraction of a won, then the fraction is dropped', () => {
    // 999 * 85 / 100 = 849.15
    expect(applyCoupons(999, [ratio(15)])).toBe(849);
    // 1 * 95 / 100 = 0.95
    expect(applyCoupons(1, [ratio(5)])).toBe(0);
  });

  test('when the price is 0, then every allowed coupon leaves 0', () => {
    expect(applyCoupons(0, [fixed(0), ratio(95)])).toBe(0);
  });

  test('when coupons have taken all they may, then the result is never negative', () => {
    expect(applyCoupons(1, [fixed(0), ratio(95)])).toBe(0);
  });

  test('when more than two coupons are used on one price, then it is a COUPON_POLICY_VIOLATION', () => {
    policyViolation(() => applyCoupons(10_000, [fixed(100), ratio(10), ratio(10)]));
  });

  test('when the price is negative or fractional, then it is a COUPON_POLICY_VIOLATION', () => {
    policyViolation(() => applyCoupons(-1, []));
    policyViolation(() => applyCoupons(100.5, []));
  });
});

describe('what a violation tells the customer', () => {
  // The message becomes the detail of the 422 problem the gateway returns, so it must name the broken rule.
  test('when a rule is broken, then the message says which rule and with which numbers', () => {
    expect(policyViolation(() => applyCoupons(-1, [])).message).toBe('price must be a whole amount >= 0');
    expect(policyViolation(() => applyCoupons(100, [fixed(1), fixed(1), fixed(1)])).message).toBe(
      'at most 2 coupons may be used on one line',
    );
    expect(policyViolation(() => applyCoupons(100, [fixed(-5)])).message).toBe(
      'a fixed discount must be a whole amount >= 0',
    );
    expect(policyViolation(() => applyCoupons(101, [fixed(51)])).message).toBe(
      'a fixed coupon of 51 may take at most half of 101',
    );
    expect(policyViolation(() => applyCoupons(100, [ratio(4)])).message).toBe('a ratio discount must be 5..95%');
  });
});
