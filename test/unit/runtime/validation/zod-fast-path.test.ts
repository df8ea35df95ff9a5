/**
 * The compiled fast path against zod itself, the oracle: over every single edit of valid values
 * and seeded random multiple edits, whatever the fast path accepts zod accepts with a deep-equal output (key order and
 * absent keys included). The fast path must also accept the valid values of fully compiled
 * schemas, or a compiler that rejects everything would pass.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import ordersJob from '../../../../src/jobs/orders.js';
import paymentsJob from '../../../../src/jobs/payments.js';
import userEventsJob from '../../../../src/jobs/user_events.js';
import { sampleOrder } from '../../../../src/jobs/samples/orders-sample.js';
import { samplePayment } from '../../../../src/jobs/samples/payments-sample.js';
import { sampleUserEvent } from '../../../../src/jobs/samples/user-events-sample.js';
import { withFastPath } from '../../../../src/runtime/validation/fast-record-schema.js';
import { compileZodFastPath, REJECTED } from '../../../../src/runtime/validation/zod-fast-path.js';
import { mulberry32 } from '../support/prng.js';

type Schema = z.ZodType;

/** Replacement values a mutation may put anywhere: every JSON type and the edge cases of each. */
const ODD_VALUES: readonly unknown[] = [
  null, undefined, true, false, 0, -0, 1, -1, 1.5, 2 ** 53, -(2 ** 53), 1e39, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, -(2 ** 31) - 1,
  '', ' ', 'a', 'x'.repeat(300), '\u{1F600}', '\u{1F600}\u{1F600}', '\ud800', '12.5', '12.555', '-3', 'PAID', ' paid ', 'eur', 'XXX',
  '2026-12-03T10:00:00Z', '2026-02-30T10:00:00Z', '2026-12-03', '10:00:00', 'a@b.co', '00000000-0000-4000-8000-000000000000',
  [], [1], ['a', 'b'], {}, { extra: 1 }, [{}],
];

/** Every value one edit away from `value`: each position replaced by each odd value, each key dropped, set undefined or added, each array shortened or grown. */
function* singleEdits(value: unknown): Generator<unknown> {
  for (const odd of ODD_VALUES) yield odd;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      for (const edited of singleEdits(value[i])) yield value.map((item, j) => (j === i ? edited : item));
      yield value.filter((_, j) => j !== i);
    }
    if (value.length > 0) yield [...value, value[0]];
    return;
  }
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      for (const edited of singleEdits(record[key])) yield { ...record, [key]: edited };
      const { [key]: _dropped, ...rest } = record;
      yield rest;
    }
    yield { ...record, unknown_key: 1 };
  }
}

/** Several random edits at once, for what single edits cannot reach. */
function mutate(value: unknown, random: () => number): unknown {
  const pick = () => ODD_VALUES[Math.floor(random() * ODD_VALUES.length)];
  if (random() < 0.15) return pick();
  if (Array.isArray(value)) {
    const copy = value.map((item) => (random() < 0.3 ? mutate(item, random) : item));
    if (random() < 0.2) copy.pop();
    if (random() < 0.2 && copy.length > 0) copy.push(copy[0]);
    return copy;
  }
  if (typeof value === 'object' && value !== null) {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const key of Object.keys(copy)) {
      const roll = random();
      if (roll < 0.08) delete copy[key];
      else if (roll < 0.12) copy[key] = undefined;
      else if (roll < 0.35) copy[key] = mutate(copy[key], random);
    }
    if (random() < 0.2) copy[`unknown_${Math.floor(random() * 3)}`] = pick();
    return copy;
  }
  return random() < 0.5 ? pick() : value;
}

/** Checks one schema on `valid` values and their mutations; returns how many valid values the fast path took. */
function differential(schema: Schema, valid: readonly unknown[], seed: number, mutations = 20): { accepted: number; rejectedValid: number } {
  const fast = compileZodFastPath(schema);
  assert.ok(fast !== undefined, 'a zod schema compiles');
  const random = mulberry32(seed);
  let accepted = 0;
  let rejectedValid = 0;
  const check = (value: unknown, isValidSample: boolean) => {
    const before = JSON.stringify(value);
    const out = fast(value);
    assert.equal(JSON.stringify(value), before, 'the fast path does not change its input');
    const oracle = schema.safeParse(value);
    if (out === REJECTED) {
      if (isValidSample && oracle.success) rejectedValid++;
      return;
    }
    assert.ok(oracle.success, `fast path accepted what zod rejects: ${JSON.stringify(value)} (${oracle.success ? '' : oracle.error.message})`);
    assert.deepStrictEqual(out, oracle.data, `outputs differ for ${JSON.stringify(value)}`);
    if (typeof out === 'object' && out !== null) assert.deepEqual(Object.keys(out), Object.keys(oracle.data as object), 'same keys in the same order');
    if (isValidSample) accepted++;
  };
  for (const value of valid) {
    check(value, true);
    for (const edited of singleEdits(value)) check(edited, false);
    for (let i = 0; i < mutations; i++) check(mutate(value, random), false);
  }
  return { accepted, rejectedValid };
}

const amount = z.union([z.string().regex(/^\d+(\.\d{1,2})?$/), z.number().nonnegative()]);
const upper = z.string().transform((s, ctx) => (s.trim() === '' ? (ctx.addIssue({ code: 'custom', message: 'blank' }), z.NEVER) : s.toUpperCase()));

/** Schemas made of what the fast path compiles, with valid samples. */
const COMPILED: readonly { name: string; schema: Schema; valid: unknown[] }[] = [
  {
    name: 'strings, numbers and their checks',
    schema: z.object({
      id: z.string().min(2).max(8),
      exact: z.string().length(2).optional(),
      when: z.iso.datetime({ offset: true }),
      day: z.iso.date().optional(),
      mail: z.email().optional(),
      uuid: z.uuid().optional(),
      n: z.number().int().positive(),
      small: z.number().int().min(-3).max(3).optional(),
      ratio: z.number().gt(0).lt(1).optional(),
      f32: z.float32().optional(),
      i32: z.int32().optional(),
      flag: z.boolean(),
      nothing: z.null().optional(),
    }),
    valid: [
      { id: 'ab', when: '2026-12-03T10:00:00Z', n: 1, flag: true },
      { id: '\u{1F600}\u{1F600}', exact: 'ab', when: '2026-12-03T10:00:00.123+01:00', day: '2026-12-03', mail: 'a@b.co', uuid: '00000000-0000-4000-8000-000000000000', n: 5, small: -3, ratio: 0.5, f32: 1.5, i32: -7, flag: false, nothing: null },
    ],
  },
  {
    name: 'literals, enums, nullable, unions, arrays, nested objects, transforms and refinements',
    schema: z
      .object({
        kind: z.literal('order'),
        status: z.enum(['a', 'b']),
        note: z.string().nullable(),
        price: amount,
        tags: z.array(z.string().min(1)).min(1).max(3),
        lines: z.array(z.object({ sku: upper, qty: z.number().int().positive(), price: amount.optional() })),
        code: upper.refine((s) => s.length <= 4, 'too long'),
        any: z.unknown(),
      })
      .refine((o) => o.tags.length <= o.lines.length + 1, 'more tags than lines')
      // Sees the transformed copy, as zod's refinements do: the input's code is lower case.
      .refine((o) => o.code === o.code.toUpperCase(), 'code not upper case'),
    valid: [
      { kind: 'order', status: 'a', note: null, price: '12.50', tags: ['x'], lines: [{ sku: 'ab', qty: 1 }], code: 'ab', any: { deep: [1] } },
      { kind: 'order', status: 'b', note: 'n', price: 3, tags: ['x', 'y'], lines: [{ sku: 'c', qty: 2, price: 0 }, { sku: 'd', qty: 1, price: '1' }], code: 'abcd', any: 0 },
    ],
  },
  {
    name: 'an object of optional keys only (which an array must not pass for)',
    schema: z.object({ a: z.string().optional(), b: z.array(z.number()).optional() }),
    valid: [{}, { a: 'x' }, { a: undefined, b: [1, 2] }],
  },
];

for (const { name, schema, valid } of COMPILED) {
  test(`fast path agrees with zod: ${name}`, () => {
    const { accepted, rejectedValid } = differential(schema, valid, 20261203);
    assert.equal(rejectedValid, 0, 'every valid sample is taken by the fast path');
    assert.equal(accepted, valid.length);
  });
}

test('constructs the fast path does not model are decided by zod, and nothing else changes', () => {
  // Each beside a compiled field, so the object around it stays compiled and only the construct is delegated.
  const constructs: [string, Schema, unknown[]][] = [
    ['strict object', z.strictObject({ a: z.string() }), [{ a: 'x' }]],
    ['loose object', z.looseObject({ a: z.string() }), [{ a: 'x', b: 1 }]],
    ['record', z.record(z.string(), z.number()), [{ k: 1 }, {}]],
    ['default', z.string().default('d'), ['y']],
    ['discriminated union', z.discriminatedUnion('t', [z.object({ t: z.literal('a'), a: z.string() }), z.object({ t: z.literal('b'), a: z.number() })]), [{ t: 'b', a: 2 }, { t: 'a', a: 'x' }]],
    ['xor', z.xor([z.string(), z.string().min(3)]), ['ab']],
    ['trim', z.string().trim().min(1), [' t ']],
    ['coerce', z.coerce.number(), ['5', 5]],
    ['starts with', z.string().startsWith('p'), ['pp']],
    ['multiple of', z.number().multipleOf(5), [10]],
  ];
  for (const [name, construct, values] of constructs) {
    const schema = z.object({ id: z.string().min(1), x: construct, y: construct.optional() });
    const valid = values.flatMap((x) => [{ id: 'a', x }, { id: 'b', x, y: x }]);
    const { accepted, rejectedValid } = differential(schema, valid, 7, 40);
    assert.equal(rejectedValid, 0, `${name}: zod's answer for the delegated construct is taken`);
    assert.equal(accepted, valid.length, name);
  }
  // An absent key of a defaulted optional is filled in by zod: the fast path must not drop it.
  const defaulted = z.object({ id: z.string(), d: z.string().default('x').optional() });
  differential(defaulted, [{ id: 'a' }, { id: 'a', d: 'y' }], 8);
  assert.deepEqual(withFastPath(defaulted).safeParse({ id: 'a' }), { success: true, data: { id: 'a', d: 'x' } });
});

test("the jobs' own schemas: their samples are taken by the fast path with zod's output, their mutations never wrongly", () => {
  const random = mulberry32(42);
  const samples: [Schema, unknown[]][] = [
    [ordersJob.input!.schema as Schema, Array.from({ length: 300 }, (_, i) => JSON.parse(JSON.stringify(sampleOrder(i, random))))],
    [paymentsJob.input!.schema as Schema, Array.from({ length: 300 }, (_, i) => JSON.parse(JSON.stringify(samplePayment(i, random))))],
    [userEventsJob.input!.schema as Schema, Array.from({ length: 300 }, (_, i) => JSON.parse(JSON.stringify(sampleUserEvent(i, random))))],
  ];
  for (const [schema, valid] of samples) {
    const validByZod = valid.filter((v) => schema.safeParse(v).success);
    const { accepted, rejectedValid } = differential(schema, validByZod, 99, 10);
    assert.ok(validByZod.length > 250, 'samples are mostly valid');
    assert.equal(rejectedValid, 0);
    assert.equal(accepted, validByZod.length);
  }
});

test('a rejected record is described by zod, with its path', () => {
  const schema = withFastPath(z.object({ items: z.array(z.object({ qty: z.number().int().positive() })) }));
  const result = schema.safeParse({ items: [{ qty: 1 }, { qty: -1 }] });
  assert.equal(result.success, false);
  assert.match(JSON.stringify((result as { error: { issues: unknown } }).error.issues), /"path":\["items",1,"qty"\]/);
  assert.deepEqual(schema.safeParse({ items: [{ qty: 2, extra: true }] }), { success: true, data: { items: [{ qty: 2 }] } });
});

test('a transform or refinement that throws sends the record to zod, whose throw is what the caller sees', () => {
  const schema = z.object({ a: z.string().transform((s) => (s === 'boom' ? (() => { throw new Error('user code failed'); })() : s)) });
  const fast = compileZodFastPath(schema)!;
  assert.equal(fast({ a: 'boom' }), REJECTED);
  assert.throws(() => withFastPath(schema).safeParse({ a: 'boom' }), /user code failed/);
});

test('a schema that is not zod is used as it is', () => {
  const handWritten = { safeParse: (value: unknown) => ({ success: true as const, data: value }) };
  assert.equal(compileZodFastPath(handWritten), undefined);
  assert.equal(withFastPath(handWritten), handWritten);
});
