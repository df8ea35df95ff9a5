/**
 * Validation of one parsed record, for each built-in job's schema: zod's `safeParse` against the
 * compiled fast path with zod behind it (what the runtime runs, `withFastPath`), and `JSON.parse`
 * of the same records for scale. Each round times every variant over the same records, the order
 * rotated per round; figures are medians with min–max over the rounds. A component figure: the
 * orders-kafka-job entries show what it is worth end to end.
 */
import type { Bench, BenchEntry } from './bench-entry.js';
import { formatSpread, interleaved } from './job-run.js';
import ordersJob from '../src/jobs/orders.js';
import paymentsJob from '../src/jobs/payments.js';
import userEventsJob from '../src/jobs/user_events.js';
import { sampleOrder } from '../src/jobs/samples/orders-sample.js';
import { samplePayment } from '../src/jobs/samples/payments-sample.js';
import { sampleUserEvent } from '../src/jobs/samples/user-events-sample.js';
import type { RecordSchema } from '../src/runtime/record-schema.js';
import { withFastPath } from '../src/runtime/validation/fast-record-schema.js';
import { mulberry32 } from '../test/unit/runtime/support/prng.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RECORDS = 20_000;
const CALLS = 400_000;

const JOBS: [string, RecordSchema<unknown>, (index: number, random: () => number) => unknown][] = [
  ['orders', ordersJob.input!.schema!, sampleOrder],
  ['payments', paymentsJob.input!.schema!, samplePayment],
  ['user_events', userEventsJob.input!.schema!, sampleUserEvent],
];

/** µs per call of `f` over the records, cycling. */
function time(records: readonly unknown[], f: (value: unknown) => unknown): number {
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) if (f(records[i % records.length]) !== undefined) sink++;
  const us = ((performance.now() - t0) * 1000) / CALLS;
  if (sink < 0) throw new Error('unreachable');
  return us;
}

const bench: Bench = async () => {
  const entries: BenchEntry[] = [];
  for (const [job, schema, generate] of JOBS) {
    const random = mulberry32(7);
    const texts = Array.from({ length: RECORDS }, (_, i) => JSON.stringify(generate(i, random)));
    const values = texts.map((t) => JSON.parse(t) as unknown);
    const fast = withFastPath(schema);
    const variants: [string, readonly unknown[], (value: unknown) => unknown][] = [
      ['zod safeParse', values, (v) => schema.safeParse(v)],
      ['compiled fast path, zod behind it', values, (v) => fast.safeParse(v)],
      ['JSON.parse of the same record', texts, (t) => JSON.parse(t as string)],
    ];
    const times = new Map<string, number[]>();
    const ratios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const now = new Map<string, number>();
      for (const [name, input, f] of interleaved(variants, round)) now.set(name, time(input, f));
      for (const [name, us] of now) times.set(name, [...(times.get(name) ?? []), us]);
      ratios.push(now.get('zod safeParse')! / now.get('compiled fast path, zod behind it')!);
    }
    const accepted = values.filter((v) => fast.safeParse(v).success).length;
    entries.push({
      name: `record validation, ${job} schema`,
      figures: {
        ...Object.fromEntries([...times].map(([name, us]) => [`${name}, µs/record`, formatSpread(us, 2)])),
        'zod ÷ fast path (same round)': formatSpread(ratios, 1),
      },
      note: `${RECORDS.toLocaleString('en-US')} generated records (${accepted.toLocaleString('en-US')} valid), ${CALLS.toLocaleString('en-US')} calls per variant, ${ROUNDS} rounds`,
    });
  }
  return entries;
};

export default bench;
