import { JobDefinitionError } from '../../errors.js';
import { mixSeed, SeededRandom } from '../../runtime/random.js';
import type { VersionedSerializer } from '../../runtime/serializer.js';
import type { Source, SourceBatch, SourceContext, SourceReader, SplitPositions } from '../../runtime/source.js';
import type { Clock } from '../../runtime/time/clock.js';

/**
 * A generator's input is divided into this many splits: record `i` belongs to split `i mod 16`,
 * as a Kafka message belongs to a partition. Records that share a key must share a split (their
 * indices congruent mod 16), as messages with one key share a partition: keyed state then never
 * has to move between the parallel subtasks that read different splits.
 */
export const GENERATOR_SPLITS = 16;

/** Options of {@link datagenSource}. */
export interface DatagenOptions<T> {
  /** Record `index`; `random` is seeded from (seed, index) alone, so a record never depends on batching, splits or restarts. */
  readonly generate: (index: number, random: () => number) => T;
  /** Bounded: this many records, then end of input. Unbounded when absent. */
  readonly count?: number;
  /** Throttle to this many records per second (per reader); flat out when absent. */
  readonly ratePerSecond?: number;
  /** Records per poll. Default 512. */
  readonly batchSize?: number;
  /** Default 0. */
  readonly seed?: number;
  /** Event time of a record: when given, every batch carries a watermark. */
  readonly eventTime?: (record: T) => number;
  /** Watermark = min over splits of (max event time seen - this - 1) (Flink's bounded out-of-orderness). Default 0. */
  readonly maxOutOfOrdernessMs?: number;
}

/** Position of a datagen reader: per split (`gen:<n>`), the index of the next record to generate. */
export interface DatagenPosition {
  readonly next: Readonly<Record<string, number>>;
}

/** The split of residue `r`: `gen:<r>`. */
export function generatorSplit(residue: number): string {
  return `gen:${residue}`;
}

const ALL_SPLITS = Array.from({ length: GENERATOR_SPLITS }, (_, r) => generatorSplit(r));

function residueOf(split: string): number {
  const r = Number(split.slice('gen:'.length));
  if (!split.startsWith('gen:') || !Number.isInteger(r) || r < 0 || r >= GENERATOR_SPLITS) throw new RangeError(`'${split}' is not a generator split`);
  return r;
}

/** The first index at or after `from` in split `r`. */
function firstIndexOf(r: number, from: number): number {
  return from + ((r - (from % GENERATOR_SPLITS) + GENERATOR_SPLITS) % GENERATOR_SPLITS);
}

/**
 * Version 2 (per split), reading version 1 (`{ nextIndex }`, one sequence) as "every record
 * below `nextIndex` was generated": each split continues at its first index from there.
 */
const datagenPositionSerializer: VersionedSerializer<DatagenPosition> = {
  version: 2,
  serialize: (position) => new TextEncoder().encode(JSON.stringify(position)),
  deserialize(version, bytes) {
    const raw = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (version === 1) {
      const nextIndex = (raw as { nextIndex: number }).nextIndex;
      return { next: Object.fromEntries(ALL_SPLITS.map((split, r) => [split, firstIndexOf(r, nextIndex)])) };
    }
    if (version !== 2) throw new RangeError(`datagen position version ${version} is not supported`);
    return raw as DatagenPosition;
  },
};

const datagenSplits: SplitPositions<DatagenPosition> = {
  toSplits: (position) => ({ ...position.next }),
  fromSplits: (splits) => ({ next: { ...splits } }),
};

/**
 * A seeded, deterministic data generator, so every job runs without Kafka: record `i` is
 * `generate(i, random)` with `random` seeded from `hash(seed, i)`, identical across batch sizes,
 * rates, splits and restores. Its splits (see {@link GENERATOR_SPLITS}) let parallel subtasks
 * share the work; a reader owns the splits of its assignment (all of them when alone).
 *
 * @example datagenSource({ count: 1e6, seed: 7, generate: (i, r) => ({ id: i, amount: Math.floor(r() * 100) }) })
 */
export function datagenSource<T>(options: DatagenOptions<T>): Source<T, DatagenPosition> {
  const batchSize = options.batchSize ?? 512;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new JobDefinitionError(`datagen: batchSize must be a positive integer, got ${batchSize}`);
  if (options.count !== undefined && !(Number.isInteger(options.count) && options.count >= 0)) throw new JobDefinitionError(`datagen: count must be a non-negative integer, got ${options.count}`);
  if (options.ratePerSecond !== undefined && !(options.ratePerSecond > 0)) throw new JobDefinitionError(`datagen: ratePerSecond must be > 0, got ${options.ratePerSecond}`);
  if (options.maxOutOfOrdernessMs !== undefined && !(options.maxOutOfOrdernessMs >= 0)) throw new JobDefinitionError(`datagen: maxOutOfOrdernessMs must be >= 0`);
  return {
    kind: 'datagen',
    positionSerializer: datagenPositionSerializer,
    splits: datagenSplits,
    allSplits: () => [...ALL_SPLITS],
    createReader: () => new DatagenReader(options, batchSize),
  };
}

interface SplitCursor {
  readonly split: string;
  readonly residue: number;
  next: number;
  maxEventTime: number;
}

class DatagenReader<T> implements SourceReader<T, DatagenPosition> {
  private cursors: SplitCursor[] = [];
  private turn = 0;
  private readonly random = new SeededRandom(0);
  private readonly seed: number;
  private signal: AbortSignal | undefined;
  private clock!: Clock;
  /** Aborted by `wakeup`: a rate-limited poll waiting for its allowance returns 'idle' at once. */
  private waiting: AbortController | undefined;
  /** Rate limiting: when (monotonic) the reader started, and records generated since. */
  private rateStartMs = 0;
  private generated = 0;

  constructor(
    private readonly options: DatagenOptions<T>,
    private readonly batchSize: number,
  ) {
    this.seed = options.seed ?? 0;
  }

  async open(ctx: SourceContext, restored: DatagenPosition | undefined): Promise<void> {
    this.signal = ctx.signal;
    this.clock = ctx.clock;
    const splits = ctx.assignment?.splits ?? ALL_SPLITS;
    this.cursors = splits.map((split) => {
      const residue = residueOf(split);
      return { split, residue, next: restored?.next[split] ?? residue, maxEventTime: -Infinity };
    });
    this.rateStartMs = ctx.clock.monotonic();
  }

  async poll(): Promise<SourceBatch<T> | 'end' | 'idle'> {
    const { count, ratePerSecond, generate, eventTime } = this.options;
    const live = count === undefined ? this.cursors : this.cursors.filter((c) => c.next < count);
    if (live.length === 0) return 'end';
    let n = this.batchSize;
    if (ratePerSecond !== undefined) {
      const allowed = await this.awaitAllowance(ratePerSecond);
      if (allowed === 0) return 'idle';
      n = Math.min(n, allowed);
    }
    const cursor = live[this.turn++ % live.length]!;
    if (count !== undefined) n = Math.min(n, Math.ceil((count - cursor.next) / GENERATOR_SPLITS));
    const records = new Array<T>(n);
    const random = this.random;
    const next = random.next;
    let index = cursor.next;
    for (let k = 0; k < n; k++, index += GENERATOR_SPLITS) {
      random.reseed(mixSeed(this.seed, index));
      records[k] = generate(index, next);
    }
    cursor.next = index;
    this.generated += n;
    if (eventTime === undefined) return { records, split: cursor.split };
    let max = cursor.maxEventTime;
    for (let k = 0; k < n; k++) {
      const t = eventTime(records[k] as T);
      if (t > max) max = t;
    }
    cursor.maxEventTime = max;
    // The watermark waits for the split that is furthest behind (an exhausted split no longer counts).
    let low = Infinity;
    for (const c of live) low = Math.min(low, c.maxEventTime);
    if (!Number.isFinite(low)) return { records, split: cursor.split };
    return { records, split: cursor.split, watermark: low - (this.options.maxOutOfOrdernessMs ?? 0) - 1 };
  }

  /** Records allowed now by the rate; waits (at most ~100 ms, so barriers pass) until one is. */
  private async awaitAllowance(rate: number): Promise<number> {
    const due = () => Math.floor(((this.clock.monotonic() - this.rateStartMs) * rate) / 1000) - this.generated;
    let allowed = due();
    if (allowed > 0) return allowed;
    const waitMs = Math.min(100, Math.ceil(((1 - allowed) * 1000) / rate));
    const waiting = (this.waiting = new AbortController());
    try {
      await this.clock.sleep(waitMs, this.signal === undefined ? waiting.signal : AbortSignal.any([waiting.signal, this.signal]));
    } catch {
      return 0; // woken (a barrier is waiting) or aborted (the job is stopping)
    } finally {
      this.waiting = undefined;
    }
    allowed = due();
    return Math.max(0, allowed);
  }

  wakeup(): void {
    this.waiting?.abort();
  }

  snapshot(): DatagenPosition {
    return { next: Object.fromEntries(this.cursors.map((c) => [c.split, c.next])) };
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
