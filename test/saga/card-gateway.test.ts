/**
 * The simulated card gateway as an idempotent peer with its own ledger, and the payment service around it, on the
 * real payment database: a key captures at most once, a refund before the capture leaves a tombstone, and
 * whatever order retries, crashes and undos arrive in, no captured charge is left without a refund unless the
 * order's payment row says CAPTURED.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BusinessRuleError } from '../../domain/failure-reasons';
import { connectPaymentDb } from '../../lib/databases';
import { OrderAlreadyUndoneError } from '../../lib/errors';
import {
  CardGatewayUnavailableError,
  IdempotencyKeyReuseError,
  chargeKey,
  createCardGateway,
  ledgerEntries,
  orderIdOfChargeKey,
  type CardGateway,
  type CardGatewayBehaviour,
} from '../../services/card-gateway';
import { createPaymentService } from '../../services/payment';

const db = connectPaymentDb();
const sleeps: number[] = [];
const behaviour: CardGatewayBehaviour = {
  hangMs: 30,
  sleep: async (ms) => {
    sleeps.push(ms);
    await sleep(ms);
  },
};
const gateway = createCardGateway(db, behaviour);
const payments = createPaymentService(db, behaviour, gateway);

afterAll(async () => {
  await db.$disconnect();
});

/** Every order id this file charges, so the ledger check ignores other test files' orders still in flight. */
const ordersHere = new Set<string>();

function anOrderId(): string {
  const orderId = randomUUID();
  ordersHere.add(orderId);
  return orderId;
}

function ledgerOf(orderId: string) {
  return ledgerEntries(db, { orderId });
}

/** The outcome of a promise as data, so tests can assert on rejections next to values. */
async function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

/** A gateway whose capture takes effect at once but whose answer is held until `deliver()`. */
function withLateAnswer(real: CardGateway) {
  const captured = deferred();
  const answer = deferred();
  const late: CardGateway = {
    ...real,
    async capture(request) {
      const outcome = await real.capture(request);
      captured.resolve();
      await answer.promise;
      return outcome;
    },
  };
  return { gateway: late, captured: captured.promise, deliver: answer.resolve };
}

/** A gateway reached by a worker that dies right after the capture took effect, before it records the answer. */
function dyingAfterCapture(real: CardGateway): CardGateway {
  return {
    ...real,
    async capture(request) {
      await real.capture(request);
      throw new Error("worker died after the gateway's capture");
    },
  };
}

/** A gateway reached by a worker that dies just before its refund call leaves the process. */
function dyingBeforeRefund(real: CardGateway): CardGateway {
  return {
    ...real,
    async refund() {
      throw new Error('worker died before the gateway refund');
    },
  };
}

describe('the card gateway on its own', () => {
  test('chargeKey derives the key from the order, and the ledger keeps the order id', async () => {
    const orderId = anOrderId();
    expect(chargeKey(orderId)).toBe(`charge-${orderId}`);
    expect(orderIdOfChargeKey(chargeKey(orderId))).toBe(orderId);
    expect(() => orderIdOfChargeKey('refund-1')).toThrow('not a charge key');

    await gateway.capture({ idempotencyKey: chargeKey(orderId), amount: 700, cardToken: 'tok_visa' });
    expect(await ledgerOf(orderId)).toEqual([
      { idempotencyKey: `charge-${orderId}`, orderId, amount: 700, status: 'CAPTURED' },
    ]);
  });

  test('when a key is captured again, sequentially or concurrently, then the first outcome is replayed and one charge exists', async () => {
    const orderId = anOrderId();
    const request = { idempotencyKey: chargeKey(orderId), amount: 9_900, cardToken: 'tok_visa' };

    const outcomes = await Promise.all(Array.from({ length: 6 }, () => gateway.capture(request)));
    outcomes.push(await gateway.capture(request));

    expect(new Set(outcomes.map((outcome) => JSON.stringify(outcome)))).toEqual(
      new Set([JSON.stringify({ status: 'CAPTURED', amount: 9_900 })]),
    );
    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'CAPTURED', amount: 9_900 })]);
  });

  test('when a key is reused for another amount, then the capture is refused as a key reuse and nothing changes', async () => {
    const orderId = anOrderId();
    await gateway.capture({ idempotencyKey: chargeKey(orderId), amount: 1_000, cardToken: 'tok_visa' });

    const { error } = await settle(
      gateway.capture({ idempotencyKey: chargeKey(orderId), amount: 2_000, cardToken: 'tok_visa' }),
    );
    expect(error).toBeInstanceOf(IdempotencyKeyReuseError);
    expect(error).toMatchObject({
      name: 'IdempotencyKeyReuseError',
      message: `idempotency key ${chargeKey(orderId)} was used for 1000, not 2000`,
    });
    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'CAPTURED', amount: 1_000 })]);
  });

  test('when the card is declined or unknown, then the decline is recorded with its reason and replayed', async () => {
    const [declined, unknown] = [anOrderId(), anOrderId()];

    const first = await gateway.capture({
      idempotencyKey: chargeKey(declined),
      amount: 500,
      cardToken: 'tok_declined',
    });
    const again = await gateway.capture({ idempotencyKey: chargeKey(declined), amount: 500, cardToken: 'tok_visa' });
    const strange = await gateway.capture({ idempotencyKey: chargeKey(unknown), amount: 500, cardToken: 'tok_what' });

    expect(first).toEqual({ status: 'DECLINED', amount: 500, reason: 'the card was declined by the issuer' });
    expect(again).toEqual(first);
    expect(strange).toEqual({ status: 'DECLINED', amount: 500, reason: 'unknown card token ****what' });
    expect(await gateway.refund({ idempotencyKey: chargeKey(declined) })).toEqual({ refunded: false, amount: 0 });
    expect([...(await ledgerOf(declined)), ...(await ledgerOf(unknown))].map((entry) => entry.status)).toEqual([
      'DECLINED',
      'DECLINED',
    ]);
  });

  test('when the gateway hangs, then it waits hangMs through the injected sleep, fails retryably and records nothing', async () => {
    const orderId = anOrderId();
    const before = sleeps.length;

    const { error } = await settle(
      gateway.capture({ idempotencyKey: chargeKey(orderId), amount: 500, cardToken: 'tok_timeout' }),
    );
    expect(error).toBeInstanceOf(CardGatewayUnavailableError);
    // Temporal records an activity error's name as the failure type, in the history and the logs.
    expect(error).toMatchObject({ name: 'CardGatewayUnavailableError', message: 'the card gateway did not answer' });

    expect(sleeps.slice(before)).toEqual([behaviour.hangMs]);
    expect(await ledgerOf(orderId)).toEqual([]);
  });

  test('when a known key is captured again with a token that would hang, then the recorded outcome comes back at once', async () => {
    const [captured, voided] = [anOrderId(), anOrderId()];
    await gateway.capture({ idempotencyKey: chargeKey(captured), amount: 800, cardToken: 'tok_visa' });
    await gateway.refund({ idempotencyKey: chargeKey(voided) });
    const before = sleeps.length;

    expect(
      await gateway.capture({ idempotencyKey: chargeKey(captured), amount: 800, cardToken: 'tok_timeout' }),
    ).toEqual({ status: 'CAPTURED', amount: 800 });
    expect(await gateway.capture({ idempotencyKey: chargeKey(voided), amount: 800, cardToken: 'tok_timeout' })).toEqual(
      { status: 'VOIDED' },
    );

    expect(sleeps.slice(before)).toEqual([]);
  });

  test('when a capture amount is not a whole number >= 0, then it is refused before the ledger; an amount of 0 is captured', async () => {
    for (const amount of [1.5, -1, Number.NaN]) {
      const orderId = anOrderId();
      const { error } = await settle(
        gateway.capture({ idempotencyKey: chargeKey(orderId), amount, cardToken: 'tok_visa' }),
      );
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toBe(`a capture amount must be a whole number >= 0, not ${amount}`);
      expect(await ledgerOf(orderId)).toEqual([]);
    }
    const free = anOrderId();
    expect(await gateway.capture({ idempotencyKey: chargeKey(free), amount: 0, cardToken: 'tok_visa' })).toEqual({
      status: 'CAPTURED',
      amount: 0,
    });
    expect(await ledgerOf(free)).toEqual([
      { idempotencyKey: chargeKey(free), orderId: free, amount: 0, status: 'CAPTURED' },
    ]);
  });

  test('when the whole ledger is read, then it comes oldest first, whatever the keys or later updates say', async () => {
    // The older charge gets the larger key, and its refund rewrites its row after the newer one was written.
    const [newer, older] = [anOrderId(), anOrderId()].sort();
    await gateway.capture({ idempotencyKey: chargeKey(older!), amount: 100, cardToken: 'tok_visa' });
    await sleep(10); // created_at keeps milliseconds: the two must not tie
    await gateway.capture({ idempotencyKey: chargeKey(newer!), amount: 200, cardToken: 'tok_visa' });
    await gateway.refund({ idempotencyKey: chargeKey(older!) });

    const entries = (await ledgerEntries(db)).filter((entry) => entry.orderId === older || entry.orderId === newer);
    expect(entries).toEqual([
      { idempotencyKey: chargeKey(older!), orderId: older, amount: 100, status: 'REFUNDED' },
      { idempotencyKey: chargeKey(newer!), orderId: newer, amount: 200, status: 'CAPTURED' },
    ]);
  });

  test('when a captured charge is refunded twice, then the money comes back once', async () => {
    const orderId = anOrderId();
    await gateway.capture({ idempotencyKey: chargeKey(orderId), amount: 4_200, cardToken: 'tok_visa' });

    const refunds = await Promise.all([
      gateway.refund({ idempotencyKey: chargeKey(orderId) }),
      gateway.refund({ idempotencyKey: chargeKey(orderId) }),
    ]);

    expect(refunds).toEqual(
      expect.arrayContaining([
        { refunded: true, amount: 4_200 },
        { refunded: false, amount: 0 },
      ]),
    );
    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'REFUNDED', amount: 4_200 })]);
  });

  test('when a refund arrives before any capture, then it leaves a tombstone and a later capture takes nothing', async () => {
    const orderId = anOrderId();

    expect(await gateway.refund({ idempotencyKey: chargeKey(orderId) })).toEqual({ refunded: false, amount: 0 });
    const late = await gateway.capture({ idempotencyKey: chargeKey(orderId), amount: 3_000, cardToken: 'tok_visa' });

    expect(late).toEqual({ status: 'VOIDED' });
    expect(await ledgerOf(orderId)).toEqual([
      { idempotencyKey: chargeKey(orderId), orderId, amount: 0, status: 'VOIDED' },
    ]);
  });

  test('when refunds and captures race on new keys, then every key ends VOIDED or REFUNDED, never CAPTURED', async () => {
    const orderIds = Array.from({ length: 30 }, () => anOrderId());

    await Promise.all(
      orderIds.flatMap((orderId) => [
        jittered(() => gateway.capture({ idempotencyKey: chargeKey(orderId), amount: 100, cardToken: 'tok_visa' })),
        jittered(() => gateway.refund({ idempotencyKey: chargeKey(orderId) })),
      ]),
    );

    for (const orderId of orderIds) {
      const [entry, ...others] = await ledgerOf(orderId);
      expect(others).toEqual([]);
      expect(['VOIDED', 'REFUNDED']).toContain(entry!.status);
    }
  });
});

/** Runs `work` after a random delay of a few milliseconds, so concurrent calls interleave differently. */
async function jittered<T>(work: () => Promise<T>): Promise<T> {
  await sleep(Math.floor(Math.random() * 6));
  return work();
}

describe('the payment service with the gateway as a peer', () => {
  test('when a charge is retried, sequentially or concurrently, then the card is captured once', async () => {
    const orderId = anOrderId();

    const concurrent = await Promise.all(
      Array.from({ length: 5 }, () => payments.chargePayment(orderId, 8_800, 'tok_visa')),
    );
    const sequential = [
      await payments.chargePayment(orderId, 8_800, 'tok_visa'),
      await payments.chargePayment(orderId, 8_800, 'tok_visa'),
    ];

    for (const payment of [...concurrent, ...sequential]) {
      expect(payment).toEqual({ orderId, amount: 8_800, status: 'CAPTURED' });
    }
    expect(await ledgerOf(orderId)).toEqual([
      { idempotencyKey: chargeKey(orderId), orderId, amount: 8_800, status: 'CAPTURED' },
    ]);
    expect(await payments.paymentOf(orderId)).toEqual({ orderId, amount: 8_800, status: 'CAPTURED' });
  });

  test('when the gateway already captured with the order key (the worker died before recording it), then the charge records that capture, not a new one', async () => {
    const orderId = anOrderId();
    await gateway.capture({ idempotencyKey: chargeKey(orderId), amount: 6_000, cardToken: 'tok_visa' });

    expect(await payments.chargePayment(orderId, 6_000, 'tok_visa')).toEqual({
      orderId,
      amount: 6_000,
      status: 'CAPTURED',
    });
    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'CAPTURED', amount: 6_000 })]);
  });

  test('when the worker dies between the capture and the row update, then the retried charge captures nothing more', async () => {
    const orderId = anOrderId();
    const dying = createPaymentService(db, behaviour, dyingAfterCapture(gateway));

    await expect(dying.chargePayment(orderId, 7_000, 'tok_visa')).rejects.toThrow('worker died');
    expect(await payments.paymentOf(orderId)).toEqual({ orderId, amount: 7_000, status: 'PENDING' });

    expect(await payments.chargePayment(orderId, 7_000, 'tok_visa')).toMatchObject({ status: 'CAPTURED' });
    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'CAPTURED', amount: 7_000 })]);
    expect(await payments.paymentOf(orderId)).toEqual({ orderId, amount: 7_000, status: 'CAPTURED' });
  });

  test('when the worker dies between the capture and the row update and the saga undoes instead, then the capture is refunded', async () => {
    const orderId = anOrderId();
    const dying = createPaymentService(db, behaviour, dyingAfterCapture(gateway));
    await expect(dying.chargePayment(orderId, 7_500, 'tok_visa')).rejects.toThrow('worker died');

    expect(await payments.refundPayment(orderId)).toEqual({ undone: true });
    expect(await payments.refundPayment(orderId)).toEqual({ undone: false });

    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'REFUNDED', amount: 7_500 })]);
    expect(await payments.paymentOf(orderId)).toEqual({ orderId, amount: 7_500, status: 'REFUNDED' });
    await expect(payments.chargePayment(orderId, 7_500, 'tok_visa')).rejects.toBeInstanceOf(OrderAlreadyUndoneError);
  });

  test('when the refund runs before the charge, then it leaves a tombstone and the later charge is refused, capturing nothing', async () => {
    const orderId = anOrderId();

    expect(await payments.refundPayment(orderId)).toEqual({ undone: false });
    await expect(payments.chargePayment(orderId, 5_000, 'tok_visa')).rejects.toBeInstanceOf(OrderAlreadyUndoneError);

    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'VOIDED', amount: 0 })]);
    expect(await payments.paymentOf(orderId)).toEqual({ orderId, amount: 0, status: 'VOIDED' });
  });

  test('when the refund finds the charge still waiting on the gateway, then the intent is voided and the gateway refuses the capture', async () => {
    const orderId = anOrderId();
    const hanging = await settle(payments.chargePayment(orderId, 5_000, 'tok_timeout'));
    expect(hanging.error).toBeInstanceOf(CardGatewayUnavailableError);
    expect(await payments.paymentOf(orderId)).toMatchObject({ status: 'PENDING' });

    expect(await payments.refundPayment(orderId)).toEqual({ undone: false });
    expect(await gateway.capture({ idempotencyKey: chargeKey(orderId), amount: 5_000, cardToken: 'tok_visa' })).toEqual(
      {
        status: 'VOIDED',
      },
    );

    await expect(payments.chargePayment(orderId, 5_000, 'tok_visa')).rejects.toBeInstanceOf(OrderAlreadyUndoneError);
    expect(await payments.paymentOf(orderId)).toEqual({ orderId, amount: 0, status: 'VOIDED' });
    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'VOIDED', amount: 0 })]);
  });

  test('when a capture lands but its answer arrives after the undo ran, then the charge is refunded and refused', async () => {
    const orderId = anOrderId();
    const late = withLateAnswer(gateway);
    const charging = settle(
      createPaymentService(db, behaviour, late.gateway).chargePayment(orderId, 3_300, 'tok_visa'),
    );
    await late.captured;

    expect(await payments.refundPayment(orderId)).toEqual({ undone: true });
    late.deliver();

    expect((await charging).error).toBeInstanceOf(OrderAlreadyUndoneError);
    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'REFUNDED', amount: 3_300 })]);
    expect(await payments.paymentOf(orderId)).toEqual({ orderId, amount: 3_300, status: 'REFUNDED' });
  });

  test('when the undo dies before reaching the gateway and the late capture answer arrives, then the charge refunds it itself', async () => {
    const orderId = anOrderId();
    const late = withLateAnswer(gateway);
    const charging = settle(
      createPaymentService(db, behaviour, late.gateway).chargePayment(orderId, 2_200, 'tok_visa'),
    );
    await late.captured;
    const crashingUndo = createPaymentService(db, behaviour, dyingBeforeRefund(gateway));
    await expect(crashingUndo.refundPayment(orderId)).rejects.toThrow('worker died');
    expect(await payments.paymentOf(orderId)).toMatchObject({ status: 'VOIDED' });
    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'CAPTURED' })]);

    late.deliver();

    expect((await charging).error).toBeInstanceOf(OrderAlreadyUndoneError);
    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'REFUNDED', amount: 2_200 })]);
    expect(await payments.paymentOf(orderId)).toEqual({ orderId, amount: 2_200, status: 'REFUNDED' });
    // The undo's retry finds the money already back.
    expect(await payments.refundPayment(orderId)).toEqual({ undone: false });
  });

  test('when a late capture answer finds the payment already refunded but the undo died before the gateway, then the charge refunds it itself', async () => {
    const orderId = anOrderId();
    const late = withLateAnswer(gateway);
    const charging = settle(
      createPaymentService(db, behaviour, late.gateway).chargePayment(orderId, 1_800, 'tok_visa'),
    );
    await late.captured;
    // A retry of the charge records the capture, then the undo turns the row REFUNDED and dies.
    expect(await payments.chargePayment(orderId, 1_800, 'tok_visa')).toEqual({
      orderId,
      amount: 1_800,
      status: 'CAPTURED',
    });
    const crashingUndo = createPaymentService(db, behaviour, dyingBeforeRefund(gateway));
    await expect(crashingUndo.refundPayment(orderId)).rejects.toThrow('worker died');
    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'CAPTURED' })]);

    late.deliver();

    expect((await charging).error).toBeInstanceOf(OrderAlreadyUndoneError);
    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'REFUNDED', amount: 1_800 })]);
    expect(await payments.paymentOf(orderId)).toEqual({ orderId, amount: 1_800, status: 'REFUNDED' });
  });

  test('when the undo dies after the row changed but before the gateway refund, then its retry still refunds the capture', async () => {
    const orderId = anOrderId();
    await payments.chargePayment(orderId, 1_100, 'tok_visa');
    const crashingUndo = createPaymentService(db, behaviour, dyingBeforeRefund(gateway));
    await expect(crashingUndo.refundPayment(orderId)).rejects.toThrow('worker died');
    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'CAPTURED' })]);

    expect(await payments.refundPayment(orderId)).toEqual({ undone: true });
    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'REFUNDED', amount: 1_100 })]);
    expect(await payments.paymentOf(orderId)).toEqual({ orderId, amount: 1_100, status: 'REFUNDED' });
  });

  test('when the undo left its VOIDED marker but died before the gateway, then a later charge is refused without reaching the gateway', async () => {
    const orderId = anOrderId();
    const crashingUndo = createPaymentService(db, behaviour, dyingBeforeRefund(gateway));
    await expect(crashingUndo.refundPayment(orderId)).rejects.toThrow('worker died');

    await expect(payments.chargePayment(orderId, 4_400, 'tok_visa')).rejects.toBeInstanceOf(OrderAlreadyUndoneError);

    expect(await ledgerOf(orderId)).toEqual([]);
    expect(await payments.paymentOf(orderId)).toEqual({ orderId, amount: 0, status: 'VOIDED' });
  });

  test("when two undos of a captured charge overlap, then the one that turned the row REFUNDED reports undone although the other's gateway call gave the money back", async () => {
    const orderId = anOrderId();
    await payments.chargePayment(orderId, 2_700, 'tok_visa');
    const reached = deferred();
    const go = deferred();
    const slowUndo = createPaymentService(db, behaviour, {
      ...gateway,
      async refund(request) {
        reached.resolve();
        await go.promise;
        return gateway.refund(request);
      },
    });

    const first = slowUndo.refundPayment(orderId);
    await reached.promise; // the row says REFUNDED; the gateway has not been asked yet
    expect(await payments.refundPayment(orderId)).toEqual({ undone: true });
    go.resolve();

    expect(await first).toEqual({ undone: true });
    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'REFUNDED', amount: 2_700 })]);
    expect(await payments.paymentOf(orderId)).toEqual({ orderId, amount: 2_700, status: 'REFUNDED' });
  });

  test('when a declined charge is refunded, then nothing is undone and the decline stays', async () => {
    const orderId = anOrderId();
    await expect(payments.chargePayment(orderId, 900, 'tok_declined')).rejects.toBeInstanceOf(BusinessRuleError);

    expect(await payments.refundPayment(orderId)).toEqual({ undone: false });

    expect(await payments.paymentOf(orderId)).toEqual({ orderId, amount: 900, status: 'DECLINED' });
    expect(await ledgerOf(orderId)).toEqual([expect.objectContaining({ status: 'DECLINED', amount: 900 })]);
  });

  test('when charges and refunds race for many orders, then no captured charge is left unless the payment row is CAPTURED', async () => {
    const orderIds = Array.from({ length: 25 }, () => anOrderId());

    const outcomes = await Promise.all(
      orderIds.map(async (orderId) => {
        const [charge, retry, refund] = await Promise.all([
          settle(jittered(() => payments.chargePayment(orderId, 1_000, 'tok_visa'))),
          settle(jittered(() => payments.chargePayment(orderId, 1_000, 'tok_visa'))),
          settle(jittered(() => payments.refundPayment(orderId))),
        ]);
        return { orderId, charge, retry, refund };
      }),
    );

    for (const { orderId, charge, retry, refund } of outcomes) {
      expect(refund.error).toBeUndefined();
      for (const attempt of [charge, retry]) {
        if (attempt.error) expect(attempt.error).toBeInstanceOf(OrderAlreadyUndoneError);
        else expect(attempt.value).toMatchObject({ status: 'CAPTURED' });
      }
      const payment = await payments.paymentOf(orderId);
      const ledger = await ledgerOf(orderId);
      expect(ledger).toHaveLength(1);
      // The refund finished last in every interleaving that matters: nothing may stay captured.
      expect(ledger[0]!.status).not.toBe('CAPTURED');
      expect(payment!.status).not.toBe('CAPTURED');
      // The payment row and the ledger tell the same story.
      expect({ status: payment!.status, amount: payment!.amount }).toEqual({
        status: ledger[0]!.status,
        amount: ledger[0]!.amount,
      });
      // Either side may be the one whose gateway refund gives the money back; undone never claims more.
      if (refund.value!.undone) expect(ledger[0]!.status).toBe('REFUNDED');
    }
  });

  test('the ledger check: every captured charge of these orders belongs to a CAPTURED payment row', async () => {
    const captured = (await ledgerEntries(db)).filter(
      (entry) => ordersHere.has(entry.orderId) && entry.status === 'CAPTURED',
    );
    const rows = await db.payment.findMany({ where: { orderId: { in: captured.map((entry) => entry.orderId) } } });
    const statusOf = new Map(rows.map((row) => [row.orderId, row.status]));

    expect(captured.length).toBeGreaterThan(0);
    for (const entry of captured) {
      // Charges made straight through the gateway in this file have no payment row; the rest must be CAPTURED.
      expect([undefined, 'CAPTURED']).toContain(statusOf.get(entry.orderId));
    }
  });
});
