/** The failure codes every layer shares: which strings are the contract's, and how a broken rule is reported. */
import {
  BusinessRuleError,
  CANCELLED_BY_OPERATOR,
  FailureReason,
  RECONCILED,
  SERVICE_UNAVAILABLE,
  isFailureReason,
} from './failure-reasons';

describe('isFailureReason', () => {
  test('when the value is one of the contract codes, then it is a failure reason', () => {
    for (const code of Object.values(FailureReason)) expect(isFailureReason(code)).toBe(true);
  });

  test('when the value is a code outside the contract or not a known string, then it is not', () => {
    // The saga must not report these as business rejections: they are the saga's own outcomes.
    for (const value of [SERVICE_UNAVAILABLE, CANCELLED_BY_OPERATOR, RECONCILED, '', 'out_of_stock', 'UNKNOWN']) {
      expect(isFailureReason(value)).toBe(false);
    }
  });

  test('when the value is not a string, then it is not a failure reason', () => {
    for (const value of [undefined, null, 0, {}, ['OUT_OF_STOCK'], { toString: () => 'OUT_OF_STOCK' }]) {
      expect(isFailureReason(value)).toBe(false);
    }
  });
});

describe('the codes outside the contract', () => {
  test('when the saga or the reconciler ends an order itself, then the order shows these exact codes', () => {
    // Stored in the order database and shown by GET /orders/:id; the README's table names them.
    expect(SERVICE_UNAVAILABLE).toBe('SERVICE_UNAVAILABLE');
    expect(CANCELLED_BY_OPERATOR).toBe('CANCELLED_BY_OPERATOR');
    expect(RECONCILED).toBe('RECONCILED');
  });
});

describe('BusinessRuleError', () => {
  test('when a rule is broken, then the error carries the reason, the message and its own name', () => {
    const error = new BusinessRuleError(FailureReason.OUT_OF_STOCK, 'only 2 left');
    expect(error).toBeInstanceOf(Error);
    expect(error.reason).toBe('OUT_OF_STOCK');
    expect(error.message).toBe('only 2 left');
    // Logs and the activity failure's type show the name, so it must not read as a plain Error.
    expect(error.name).toBe('BusinessRuleError');
    expect(String(error)).toBe('BusinessRuleError: only 2 left');
  });
});
