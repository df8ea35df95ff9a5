/**
 * Exact money arithmetic in integer minor units: never sum prices as binary floats.
 */

/** "12.3", "12.30" or 12.3 → 1230 (cents). Throws on more than two fraction digits. */
export function toCents(value: string | number): number {
  if (typeof value === 'number') {
    const cents = Math.round(value * 100);
    if (Math.abs(cents / 100 - value) > 1e-9) throw new Error(`amount ${value} has more than two fraction digits`);
    return cents;
  }
  const cents = decimalCents(value.trim());
  if (cents === undefined) throw new Error(`'${value}' is not a decimal amount with at most two fraction digits`);
  return cents;
}

const ZERO = 48;
const MINUS = 45;
const POINT = 46;
/** Digits up to which the running sum is exact (2^53 > 10^15); longer ones are parsed by Number. */
const EXACT_DIGITS = 15;

const digitAt = (text: string, i: number): number => {
  const d = text.charCodeAt(i) - ZERO;
  return d >= 0 && d <= 9 ? d : -1;
};

/**
 * `-?\d+(\.\d{1,2})?` as cents, else undefined. A loop over the characters: it runs for every
 * price of every order, where a regular expression's match array and substrings cost more than
 * the arithmetic.
 */
function decimalCents(text: string): number | undefined {
  const negative = text.charCodeAt(0) === MINUS;
  const start = negative ? 1 : 0;
  let i = start;
  let whole = 0;
  for (let d = digitAt(text, i); d >= 0; d = digitAt(text, ++i)) whole = whole * 10 + d;
  if (i === start) return undefined;
  if (i - start > EXACT_DIGITS) whole = Number(text.slice(start, i));
  let fraction = 0;
  if (i < text.length) {
    if (text.charCodeAt(i) !== POINT) return undefined;
    const tens = digitAt(text, i + 1);
    if (tens < 0) return undefined;
    const ones = i + 2 < text.length ? digitAt(text, i + 2) : 0;
    if (ones < 0 || i + 3 < text.length) return undefined;
    fraction = tens * 10 + ones;
  }
  const cents = whole * 100 + fraction;
  return negative ? -cents : cents;
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
