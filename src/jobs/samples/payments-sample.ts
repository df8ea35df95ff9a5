import { GENERATOR_SPLITS } from '../../operators/sources/datagen-source.js';
import { pick, sampleEventTime } from './sample-random.js';

const SUCCESS = ['succeeded', 'SUCCEEDED', 'success', 'captured', 'Paid'];
const FAILURE = ['failed', 'FAILED', 'declined', 'Declined', 'error'];
const FAILURE_REASONS = ['card_declined', 'insufficient_funds', 'expired_card', 'incorrect_cvc', 'do_not_honor'];
const CURRENCIES = ['usd', 'USD', 'eur', 'EUR', ' gbp ', 'chf', 'SEK'];
const METHODS = ['card', 'card', 'card', 'paypal', 'bank_transfer'];

/** Payment records come in blocks of this many indices of one generator split (16 apart), so one order's attempts share a split. */
const BLOCK = 8;
/** One block in this many is a card-testing burst: many declined attempts on one order. */
const BURST_EVERY = 20;

/**
 * Payment `index` as the payment service publishes it. Ordinary payments have their own order
 * (about 10 % fail, some pending or refunded); one block of 8 indices in 20 is a burst —
 * attempts on one order, mostly declined, all in one generator split — so the job's
 * more-than-3-failures-per-10-minutes flag has something to find. Amounts come as decimal
 * strings or JSON numbers, statuses and currencies in mixed spellings.
 */
export function samplePayment(index: number, random: () => number): unknown {
  const block = Math.floor(index / (BLOCK * GENERATOR_SPLITS)) * GENERATOR_SPLITS + (index % GENERATOR_SPLITS);
  const place = Math.floor(index / GENERATOR_SPLITS) % BLOCK;
  const burst = block % BURST_EVERY === 3;
  const outcome = random();
  let status: string;
  if (burst) status = place === BLOCK - 1 && outcome < 0.5 ? pick(random, SUCCESS) : pick(random, FAILURE);
  else if (outcome < 0.1) status = pick(random, FAILURE);
  else if (outcome < 0.15) status = 'pending';
  else if (outcome < 0.18) status = 'refunded';
  else status = pick(random, SUCCESS);
  const cents = 100 + Math.floor(random() * 50_000);
  const payment: Record<string, unknown> = {
    payment_id: `p-${String(index).padStart(10, '0')}`,
    // Burst orders have 11 digits, ordinary ones 10: they never collide (below 10^10 records).
    order_id: burst ? `o-${10_000_000_000 + block}` : `o-${String(index).padStart(10, '0')}`,
    amount: random() < 0.5 ? (cents / 100).toFixed(2) : cents / 100,
    currency: pick(random, CURRENCIES),
    status,
    method: pick(random, METHODS),
    attempted_at: new Date(sampleEventTime(index, random)).toISOString(),
  };
  if (FAILURE.includes(status)) payment.failure_reason = pick(random, FAILURE_REASONS);
  return payment;
}
