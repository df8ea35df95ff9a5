/**
 * Exact money arithmetic in integer minor units: never sum prices as binary floats.
 */

const DECIMAL = /^(-?)(\d+)(?:\.(\d{1,2}))?$/;

/** "12.3", "12.30" or 12.3 → 1230 (cents). Throws on more than two fraction digits. */
export function toCents(value: string | number): number {
  if (typeof value === 'number') {
    const cents = Math.round(value * 100);
    if (Math.abs(cents / 100 - value) > 1e-9) throw new Error(`amount ${value} has more than two fraction digits`);
    return cents;
  }
  const match = DECIMAL.exec(value.trim());
  if (match === null) throw new Error(`'${value}' is not a decimal amount with at most two fraction digits`);
  const cents = Number(match[2]) * 100 + Number((match[3] ?? '').padEnd(2, '0'));
  return match[1] === '-' ? -cents : cents;
}

/** 1230 → "12.30" (the form the Iceberg decimal(p, 2) columns take). */
export function centsToDecimal(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** ISO 4217 codes the jobs accept; others are schema violations (dead letters). */
export const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'CHF', 'CAD', 'AUD', 'SEK', 'NOK', 'DKK', 'PLN', 'BRL', 'INR', 'SGD'] as const;
export type Currency = (typeof CURRENCIES)[number];

/** " usd " → "USD" when known. */
export function normalizeCurrency(raw: string): Currency | undefined {
  const code = raw.trim().toUpperCase();
  return (CURRENCIES as readonly string[]).includes(code) ? (code as Currency) : undefined;
}
