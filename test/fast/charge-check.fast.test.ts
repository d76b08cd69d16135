/**
 * The workflow's reading of the charge answer (workflows/charge-check.ts), case by case: which answers prove the
 * order's own charge, and what the log says about one that does not. The workflow tests
 * (place-order.fast.test.ts, "the charge answer is verified") show such answers failing real orders.
 */
import { chargeKey } from '../../domain/payment';
import { chargeMismatch } from '../../workflows/charge-check';

const EXPECTED = { orderId: 'order-1', amount: 1_250_000 };
const CAPTURED = { status: 'CAPTURED', amount: 1_250_000, orderId: 'order-1', idempotencyKey: chargeKey('order-1') };

test('a captured charge of the order total for this order, under its key, is accepted', () => {
  expect(chargeMismatch(CAPTURED, EXPECTED)).toBeNull();
});

test('an answer that names neither the order nor the key is judged by status and amount alone', () => {
  expect(chargeMismatch({ status: 'CAPTURED', amount: 1_250_000 }, EXPECTED)).toBeNull();
});

test.each([
  { answer: 'null', value: null, mismatch: 'the answer is not an object' },
  { answer: 'a string', value: 'CAPTURED', mismatch: 'the answer is not an object' },
  { answer: 'a number', value: 1_250_000, mismatch: 'the answer is not an object' },
])('$answer is not an answer', ({ value, mismatch }) => {
  expect(chargeMismatch(value, EXPECTED)).toBe(mismatch);
});

test.each([
  { answer: 'a declined charge', change: { status: 'DECLINED' }, mismatch: 'status is "DECLINED", not CAPTURED' },
  { answer: 'no status', change: { status: undefined }, mismatch: 'status is undefined, not CAPTURED' },
  {
    answer: 'another amount',
    change: { amount: 1_000 },
    mismatch: 'amount is 1000, not the order total 1250000',
  },
  {
    answer: 'the amount as a string',
    change: { amount: '1250000' },
    mismatch: 'amount is "1250000", not the order total 1250000',
  },
  { answer: "another order's charge", change: { orderId: 'order-2' }, mismatch: 'order id is "order-2"' },
  {
    answer: 'another key',
    change: { idempotencyKey: chargeKey('order-2') },
    mismatch: `idempotency key is "${chargeKey('order-2')}", not ${chargeKey('order-1')}`,
  },
])('$answer is the first mismatch named', ({ change, mismatch }) => {
  expect(chargeMismatch({ ...CAPTURED, ...change }, EXPECTED)).toBe(mismatch);
});

test('only the first mismatch is named, in the order status, amount, order id, key', () => {
  const wrongEverywhere = { status: 'PENDING', amount: 1, orderId: 'order-2', idempotencyKey: 'x' };

  expect(chargeMismatch(wrongEverywhere, EXPECTED)).toBe('status is "PENDING", not CAPTURED');
  expect(chargeMismatch({ ...wrongEverywhere, status: 'CAPTURED' }, EXPECTED)).toMatch(/^amount is 1,/);
  expect(chargeMismatch({ ...wrongEverywhere, status: 'CAPTURED', amount: 1_250_000 }, EXPECTED)).toBe(
    'order id is "order-2"',
  );
});
