-- The payment intent: written before the card gateway is called.
ALTER TYPE "PaymentStatus" ADD VALUE IF NOT EXISTS 'PENDING' BEFORE 'CAPTURED';

-- The simulated card gateway's own ledger, one charge per idempotency key (`charge-<orderId>`).
-- VOIDED is a tombstone: the refund arrived before any capture, so a later capture with the key is refused.
CREATE TABLE "card_gateway_charges" (
    "idempotency_key" TEXT NOT NULL,
    "order_id" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "decline_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "card_gateway_charges_pkey" PRIMARY KEY ("idempotency_key"),
    CONSTRAINT "card_gateway_charges_status" CHECK ("status" IN ('CAPTURED', 'DECLINED', 'REFUNDED', 'VOIDED')),
    CONSTRAINT "card_gateway_charges_amount_non_negative" CHECK ("amount" >= 0)
);
