/**
 * The test card tokens of the simulated card gateway (docs/domain.md): the token alone decides what the gateway
 * does, so requests, tests and the gateway must spell them the same way.
 */
export const TestCardToken = {
  /** Approves the capture. */
  approve: 'tok_visa',
  /** Declined by the issuer: a business failure, never retried. */
  decline: 'tok_declined',
  /** The gateway hangs: a transient failure the saga bounds with its payment timeout. */
  hang: 'tok_timeout',
} as const;

export type TestCardToken = (typeof TestCardToken)[keyof typeof TestCardToken];

/** The card an order is paid with when its request names none. */
export const DEFAULT_CARD_TOKEN = TestCardToken.approve;

/**
 * A card token as it may be shown where payload encryption does not reach (workflow summaries and details, logs):
 * its last four characters at most, and nothing of a short one.
 */
export function maskCardToken(token: string): string {
  return token.length >= 8 ? `****${token.slice(-4)}` : '****';
}
