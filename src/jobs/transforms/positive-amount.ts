import { z } from 'zod';
import { toCents } from './money.js';

/** Largest amount a `decimal(12, 2)` column holds, in cents: 9 999 999 999.99. */
export const MAX_DECIMAL_12_2_CENTS = 999_999_999_999;

/**
 * A money amount for a `decimal(12, 2)` column, as a decimal string ("12.30") or a JSON number,
 * validated to be > 0 with at most two fraction digits; parses to integer cents.
 */
export const positiveAmount = z.union([z.string(), z.number()]).transform((value, ctx) => {
  let cents: number;
  try {
    cents = toCents(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
  if (cents <= 0) ctx.addIssue({ code: 'custom', message: `amount must be > 0, got ${String(value)}` });
  else if (cents > MAX_DECIMAL_12_2_CENTS) ctx.addIssue({ code: 'custom', message: `amount ${String(value)} does not fit decimal(12, 2)` });
  return cents;
});
