/**
 * A simulated card gateway that behaves like a real payment provider: a peer with its own ledger, keyed by an
 * idempotency key. The payment service talks to it only through `capture` and `refund`, so the crash windows
 * between the gateway's effect and the service's own record are those a real provider would leave.
 *
 * The ledger lives in the payment database (table `card_gateway_charges`) only because the simulation needs
 * somewhere durable; no code but this module touches it, and nothing joins it to `payments`.
 */
import { TestCardToken, maskCardToken } from '../domain/card-tokens';
import { orderIdOfChargeKey } from '../domain/payment';
import type { PaymentDb } from '../lib/databases';

export interface CardGatewayBehaviour {
  /** How long `tok_timeout` hangs; the saga's payment timeout must be shorter. */
  hangMs: number;
  /** Sleeps for the given time; activities pass one that stops when the activity is cancelled. */
  sleep: (ms: number) => Promise<void>;
}

export type LedgerStatus = 'CAPTURED' | 'DECLINED' | 'REFUNDED' | 'VOIDED';

/** One row of the gateway's ledger, as a chaos tool or a test reads it. */
export interface LedgerEntry {
  idempotencyKey: string;
  orderId: string;
  amount: number;
  status: LedgerStatus;
}

export interface CaptureRequest {
  idempotencyKey: string;
  amount: number;
  cardToken: string;
}

/**
 * What the gateway answers to a capture, first time or replayed. REFUNDED and VOIDED only come back for a
 * known key: the charge was refunded meanwhile, or cancelled before it existed; in both cases nothing is held.
 */
export type CaptureOutcome =
  | { status: 'CAPTURED'; amount: number }
  | { status: 'DECLINED'; amount: number; reason: string }
  | { status: 'REFUNDED'; amount: number }
  | { status: 'VOIDED' };

export interface CardGateway {
  capture(request: CaptureRequest): Promise<CaptureOutcome>;
  /** `amount` is what this call gave back: the charge's amount when `refunded`, else 0. */
  refund(request: { idempotencyKey: string }): Promise<{ refunded: boolean; amount: number }>;
}

/** The gateway did not answer in time; nothing was recorded, so the caller may retry with the same key. */
export class CardGatewayUnavailableError extends Error {
  constructor() {
    super('the card gateway did not answer');
    this.name = 'CardGatewayUnavailableError';
  }
}

/** A key was reused for a different amount: a caller bug that a provider refuses rather than guess. */
export class IdempotencyKeyReuseError extends Error {
  constructor(idempotencyKey: string, recorded: number, requested: number) {
    super(`idempotency key ${idempotencyKey} was used for ${recorded}, not ${requested}`);
    this.name = 'IdempotencyKeyReuseError';
  }
}

// Kept in domain/ so that the workflow, which may not import services, checks charge answers against it.
export { chargeKey, orderIdOfChargeKey } from '../domain/payment';

/**
 * Decides a first capture from the card token alone (domain/card-tokens.ts): null approves, a string is the decline
 * reason; any token the gateway does not know is declined.
 */
function declineReasonOf(cardToken: string): string | null {
  if (cardToken === TestCardToken.approve) return null;
  if (cardToken === TestCardToken.decline) return 'the card was declined by the issuer';
  // Never the token itself: this reason becomes a failure message, which Temporal stores unencrypted.
  return `unknown card token ${maskCardToken(cardToken)}`;
}

interface ChargeRow {
  amount: number;
  status: LedgerStatus;
  decline_reason: string | null;
}

/** Replays a recorded charge; a known key never captures again. */
function recordedOutcome(request: CaptureRequest, row: ChargeRow): CaptureOutcome {
  if (row.status === 'VOIDED') return { status: 'VOIDED' };
  if (row.amount !== request.amount)
    throw new IdempotencyKeyReuseError(request.idempotencyKey, row.amount, request.amount);
  if (row.status === 'DECLINED') {
    return { status: 'DECLINED', amount: row.amount, reason: row.decline_reason ?? 'the card was declined' };
  }
  return { status: row.status, amount: row.amount };
}

export function createCardGateway(db: PaymentDb, behaviour: CardGatewayBehaviour): CardGateway {
  async function chargeOf(idempotencyKey: string): Promise<ChargeRow | undefined> {
    const rows = await db.$queryRaw<ChargeRow[]>`
      SELECT amount, status, decline_reason FROM card_gateway_charges WHERE idempotency_key = ${idempotencyKey}`;
    return rows[0];
  }

  /** Records a first outcome unless the key is already known; returns the row that is recorded either way. */
  async function recordFirst(request: CaptureRequest, declineReason: string | null): Promise<ChargeRow> {
    const status: LedgerStatus = declineReason === null ? 'CAPTURED' : 'DECLINED';
    const inserted = await db.$queryRaw<ChargeRow[]>`
      INSERT INTO card_gateway_charges (idempotency_key, order_id, amount, status, decline_reason)
      VALUES (${request.idempotencyKey}, ${orderIdOfChargeKey(request.idempotencyKey)}, ${request.amount},
              ${status}, ${declineReason})
      ON CONFLICT (idempotency_key) DO NOTHING
      RETURNING amount, status, decline_reason`;
    // Lost the race to a concurrent capture or refund with the same key: theirs is the recorded outcome.
    return inserted[0] ?? (await chargeOf(request.idempotencyKey))!;
  }

  return {
    /**
     * Captures once per key. A known key replays its recorded outcome (a tombstone refuses); a hanging
     * gateway records nothing, so a retry with the same key is safe.
     */
    async capture(request) {
      if (!Number.isInteger(request.amount) || request.amount < 0) {
        throw new RangeError(`a capture amount must be a whole number >= 0, not ${request.amount}`);
      }
      const known = await chargeOf(request.idempotencyKey);
      if (known) return recordedOutcome(request, known);
      if (request.cardToken === TestCardToken.hang) {
        await behaviour.sleep(behaviour.hangMs);
        throw new CardGatewayUnavailableError();
      }
      return recordedOutcome(request, await recordFirst(request, declineReasonOf(request.cardToken)));
    },

    /**
     * Refunds the charge made with the key, once. With no charge yet it records a VOIDED tombstone so a capture
     * arriving later is refused: one statement, so it serialises with a concurrent capture on the key.
     */
    async refund({ idempotencyKey }) {
      const rows = await db.$queryRaw<Pick<ChargeRow, 'amount' | 'status'>[]>`
        INSERT INTO card_gateway_charges (idempotency_key, order_id, amount, status)
        VALUES (${idempotencyKey}, ${orderIdOfChargeKey(idempotencyKey)}, 0, 'VOIDED')
        ON CONFLICT (idempotency_key) DO UPDATE SET status = 'REFUNDED', updated_at = now()
          WHERE card_gateway_charges.status = 'CAPTURED'
        RETURNING amount, status`;
      const refunded = rows[0]?.status === 'REFUNDED';
      return { refunded, amount: refunded ? rows[0]!.amount : 0 };
    },
  };
}

/**
 * Every ledger entry, oldest first, so a check can prove from the data that each captured charge was refunded
 * or belongs to a COMPLETED order. Plain SQL equivalent:
 * `SELECT idempotency_key, order_id, amount, status FROM card_gateway_charges ORDER BY created_at`.
 */
export async function ledgerEntries(db: PaymentDb, where: { orderId?: string } = {}): Promise<LedgerEntry[]> {
  const rows = await db.cardGatewayCharge.findMany({
    where: where.orderId === undefined ? {} : { orderId: where.orderId },
    select: { idempotencyKey: true, orderId: true, amount: true, status: true },
    orderBy: [{ createdAt: 'asc' }, { idempotencyKey: 'asc' }],
  });
  return rows.map((row) => ({ ...row, status: row.status as LedgerStatus }));
}
