/**
 * The chaos producer's input: valid orders with ids known in advance, and hostile records at
 * known indexes. Each record says what a correct orders job must make of it (a row with its
 * order id, or a dead letter) — decided here from how the record was built, never by asking the
 * job's own schema. Hostile records are keyed `bad-<n>` so the oracle recognises them in a dump
 * of the topic; valid ones are keyed by order id (a duplicate lands in the same partition).
 */
import type { Prng } from './prng.js';

/** One record to produce and what it must become. */
export interface ChaosRecord {
  readonly key: string;
  readonly value: Buffer | null;
  /** `row`: `orderId` in the table exactly once; `dead-letter`: one dead letter with its origin partition:offset. */
  readonly expect: 'row' | 'dead-letter';
  readonly orderId?: string;
  /** What kind of record it is (for the report). */
  readonly kind: string;
}

/** Below the broker's default max.message.bytes (1 048 588) and the job's 1 MiB record limit, with room for the rest of the order. */
const NEAR_LIMIT_BYTES = 1_000_000;
const NESTING = 100_000;

function order(id: string, i: number, createdAt: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    order_id: id,
    customer_id: `c-${i % 97}`,
    status: ['created', 'PAID', ' shipped '][i % 3],
    currency: i % 2 === 0 ? 'usd' : 'EUR',
    items: [{ sku: `sku-${i % 13}`, quantity: 1 + (i % 3), unit_price: '12.34' }],
    shipping: 5,
    created_at: createdAt,
    ...extra,
  };
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** Hostile kinds that must become dead letters: each builds its value from the record's index. */
const DEAD_LETTER_KINDS: Record<string, (id: string, i: number, now: string) => Buffer | null> = {
  'invalid-json': (id) => Buffer.from(`{"order_id": "${id}", "items": [`),
  'invalid-utf8': (id, i, now) => {
    const [before, after] = JSON.stringify(order(id, i, now)).split(`"c-${i % 97}"`) as [string, string];
    return Buffer.concat([Buffer.from(`${before}"`), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from(`"${after}`)]);
  },
  'empty-value': () => Buffer.alloc(0),
  'null-value': () => null,
  'near-limit-invalid': (id, i, now) => json(order(id, i, now, { items: [], pad: 'x'.repeat(NEAR_LIMIT_BYTES) })),
  'nested-100k': (id, i, now) => Buffer.from(JSON.stringify(order(id, i, now)).replace(/"items":\[[^\]]*\]/, `"items":${'['.repeat(NESTING)}${']'.repeat(NESTING)}`)),
  'number-1e400': (id, i, now) => Buffer.from(JSON.stringify(order(id, i, now)).replace('"12.34"', '1e400')),
  'number-2^64': (id, i, now) => Buffer.from(JSON.stringify(order(id, i, now)).replace(/"quantity":\d+/, '"quantity":18446744073709551616')),
  'wrong-type': (id, i, now) => json(order(id, i, now, { items: 'three apples' })),
  'missing-field': (id, i, now) => {
    const o = order(id, i, now);
    delete o.customer_id;
    return json(o);
  },
};

/** Hostile kinds that are valid orders and must become rows. */
const ROW_KINDS: Record<string, (id: string, i: number, now: string) => Buffer> = {
  'year-1900': (id, i) => json(order(id, i, '1900-01-01T00:00:00Z')),
  'year-9999': (id, i) => json(order(id, i, '9999-12-31T23:59:59.999Z')),
  'near-limit-valid': (id, i, now) => json(order(id, i, now, { note: 'n'.repeat(NEAR_LIMIT_BYTES) })),
};

export const HOSTILE_KINDS = [...Object.keys(DEAD_LETTER_KINDS), ...Object.keys(ROW_KINDS), 'exact-duplicate'] as const;

/** Generates the records of one run; `next` gives the records of index `i` (one, or two for an exact duplicate). */
export class ChaosInput {
  private bad = 0;

  constructor(
    private readonly seed: number,
    private readonly prng: Prng,
    /** Share of records that are hostile (besides bursts). */
    private readonly hostileFraction: number,
  ) {}

  /** The records for generator index `i`. */
  next(i: number): ChaosRecord[] {
    const id = `o-${this.seed}-${i}`;
    const now = new Date().toISOString();
    if (this.prng.next() >= this.hostileFraction) return [{ key: id, value: json(order(id, i, now)), expect: 'row', orderId: id, kind: 'valid' }];
    const kind = this.prng.pick(HOSTILE_KINDS);
    if (kind === 'exact-duplicate') {
      const value = json(order(id, i, now));
      return [0, 1].map(() => ({ key: id, value, expect: 'row' as const, orderId: id, kind }));
    }
    const row = ROW_KINDS[kind];
    if (row !== undefined) return [{ key: id, value: row(id, i, now), expect: 'row', orderId: id, kind }];
    return [{ key: `bad-${this.bad++}`, value: DEAD_LETTER_KINDS[kind]!(id, i, now), expect: 'dead-letter', kind }];
  }

  /** A burst of `count` bad records (alternating invalid JSON and schema violations). */
  burst(count: number, i: number): ChaosRecord[] {
    const now = new Date().toISOString();
    return Array.from({ length: count }, (_, n) => {
      const id = `burst-${this.seed}-${i}-${n}`;
      const value = n % 2 === 0 ? Buffer.from(`not json ${id}`) : json(order(id, i, now, { currency: 'XXX-not-a-currency' }));
      return { key: `bad-${this.bad++}`, value, expect: 'dead-letter' as const, kind: 'burst' };
    });
  }
}
