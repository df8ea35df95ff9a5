/**
 * Payment statuses as the `payments` table stores them. Providers report the same outcome in
 * many words (`declined`, `failure`, `ERROR`); the flag for failure bursts needs one name for it.
 */

export const PAYMENT_STATUSES = ['SUCCEEDED', 'FAILED', 'PENDING', 'REFUNDED'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

const ALIASES: Readonly<Record<string, PaymentStatus>> = {
  succeeded: 'SUCCEEDED', success: 'SUCCEEDED', successful: 'SUCCEEDED', captured: 'SUCCEEDED', paid: 'SUCCEEDED', ok: 'SUCCEEDED',
  failed: 'FAILED', failure: 'FAILED', declined: 'FAILED', error: 'FAILED', rejected: 'FAILED',
  pending: 'PENDING', processing: 'PENDING', authorized: 'PENDING', requires_action: 'PENDING',
  refunded: 'REFUNDED', refund: 'REFUNDED', reversed: 'REFUNDED',
};

/** `" Declined "` → `"FAILED"`; undefined for a status nobody defined (a schema violation). */
export function normalizePaymentStatus(raw: string): PaymentStatus | undefined {
  return ALIASES[raw.trim().toLowerCase().replace(/[\s-]+/g, '_')];
}
