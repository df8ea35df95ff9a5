import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../../src/runtime/random.js';
import { centsToDecimal, toCents } from '../../../src/jobs/transforms/money.js';

/** The rule as a regular expression (how toCents was first written): the oracle for its character loop. */
function expectedCents(value: string): number | 'rejected' {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(value.trim());
  if (match === null) return 'rejected';
  const cents = Number(match[2]) * 100 + Number((match[3] ?? '').padEnd(2, '0'));
  return match[1] === '-' ? -cents : cents;
}

function actualCents(value: string): number | 'rejected' {
  try {
    return toCents(value);
  } catch (error) {
    assert.match((error as Error).message, /is not a decimal amount with at most two fraction digits/);
    return 'rejected';
  }
}

test('toCents: decimal strings with at most two fraction digits become exact cents; anything else is rejected', () => {
  const cases: Array<[string, number | 'rejected']> = [
    ['12.30', 1230],
    ['12.3', 1230],
    ['12', 1200],
    [' 4.99 ', 499],
    ['0', 0],
    ['007.05', 705],
    ['-1.5', -150],
    ['198.41', 19841],
    ['12.', 'rejected'],
    ['.5', 'rejected'],
    ['1.234', 'rejected'],
    ['', 'rejected'],
    ['-', 'rejected'],
    ['+1', 'rejected'],
    ['1e3', 'rejected'],
    ['1,5', 'rejected'],
    ['1.5x', 'rejected'],
    ['1 .5', 'rejected'],
    ['١٢', 'rejected'], // Arabic-Indic digits are not \d
  ];
  for (const [value, cents] of cases) assert.equal(actualCents(value), cents, `toCents('${value}')`);
});

test('toCents agrees with the regular expression on 200,000 random strings, long digit runs included', () => {
  const random = mulberry32(20261205);
  const alphabet = ['0', '1', '5', '9', '.', '-', ' ', 'a', '+', 'e'];
  for (let n = 0; n < 200_000; n++) {
    let value = '';
    const length = Math.floor(random() * 8);
    for (let i = 0; i < length; i++) value += alphabet[Math.floor(random() * alphabet.length)];
    // Half of them shaped like an amount, so the accepted paths are well covered.
    if (n % 2 === 0) value = `${random() < 0.2 ? '-' : ''}${Math.floor(random() * 10 ** Math.floor(random() * 19))}${random() < 0.7 ? `.${Math.floor(random() * 1000)}` : ''}`;
    assert.equal(actualCents(value), expectedCents(value), `toCents('${value}')`);
  }
});

test('toCents of numbers: cents when exact to two places, an error otherwise; centsToDecimal formats them back', () => {
  assert.equal(toCents(12.3), 1230);
  assert.equal(toCents(0.1 + 0.2), 30);
  assert.throws(() => toCents(1.234), /more than two fraction digits/);
  assert.equal(centsToDecimal(1230), '12.30');
  assert.equal(centsToDecimal(-5), '-0.05');
  assert.equal(centsToDecimal(0), '0.00');
});
