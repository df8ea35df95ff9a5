import { JobDefinitionError } from '../../errors.js';
import { mixSeed, SeededRandom } from '../../runtime/random.js';
import { jsonSerializer } from '../../runtime/serializer.js';
import type { Source, SourceBatch, SourceContext, SourceReader } from '../../runtime/source.js';
import type { Clock } from '../../runtime/time/clock.js';

/** Options of {@link datagenSource}. */
export interface DatagenOptions<T> {
  /** Record `index`; `random` is seeded from (seed, index) alone, so a record never depends on batching or restarts. */
  readonly generate: (index: number, random: () => number) => T;
  /** Bounded: this many records, then end of input. Unbounded when absent. */
  readonly count?: number;
  /** Throttle to this many records per second; flat out when absent. */
  readonly ratePerSecond?: number;
  /** Records per poll. Default 1024. */
  readonly batchSize?: number;
  /** Default 0. */
  readonly seed?: number;
  /** Event time of a record: when given, every batch carries a watermark. */
  readonly eventTime?: (record: T) => number;
  /** Watermark = max event time seen - this - 1 (Flink's bounded out-of-orderness). Default 0. */
  readonly maxOutOfOrdernessMs?: number;
}

/** Position of a datagen reader: the index of the next record to generate. */
export interface DatagenPosition {
  readonly nextIndex: number;
}

/**
 * A seeded, deterministic data generator, so every job runs without Kafka: record `i` is
 * `generate(i, random)` with `random` seeded from `hash(seed, i)`, identical across batch sizes,
 * rates and restores (the position is just the next index).
 *
 * @example datagenSource({ count: 1e6, seed: 7, generate: (i, r) => ({ id: i, amount: Math.floor(r() * 100) }) })
 */
export function datagenSource<T>(options: DatagenOptions<T>): Source<T, DatagenPosition> {
  const batchSize = options.batchSize ?? 1024;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new JobDefinitionError(`datagen: batchSize must be a positive integer, got ${batchSize}`);
  if (options.count !== undefined && !(Number.isInteger(options.count) && options.count >= 0)) throw new JobDefinitionError(`datagen: count must be a non-negative integer, got ${options.count}`);
  if (options.ratePerSecond !== undefined && !(options.ratePerSecond > 0)) throw new JobDefinitionError(`datagen: ratePerSecond must be > 0, got ${options.ratePerSecond}`);
  if (options.maxOutOfOrdernessMs !== undefined && !(options.maxOutOfOrdernessMs >= 0)) throw new JobDefinitionError(`datagen: maxOutOfOrdernessMs must be >= 0`);
  return {
    kind: 'datagen',
    positionSerializer: jsonSerializer<DatagenPosition>(1),
    createReader: () => new DatagenReader(options, batchSize),
  };
}

class DatagenReader<T> implements SourceReader<T, DatagenPosition> {
  private nextIndex = 0;
  private readonly random: SeededRandom;
  private readonly seed: number;
  private maxEventTime = -Infinity;
  private signal: AbortSignal | undefined;
  private clock!: Clock;
  /** Aborted by `wakeup`: a rate-limited poll waiting for its allowance returns 'idle' at once. */
  private waiting: AbortController | undefined;
  /** Rate limiting: when (monotonic) and at which index the current run started. */
  private rateStartMs = 0;
  private rateStartIndex = 0;

  constructor(
    private readonly options: DatagenOptions<T>,
    private readonly batchSize: number,
  ) {
    this.seed = options.seed ?? 0;
    this.random = new SeededRandom(0);
  }

  async open(ctx: SourceContext, restored: DatagenPosition | undefined): Promise<void> {
    this.signal = ctx.signal;
    this.clock = ctx.clock;
    this.nextIndex = restored?.nextIndex ?? 0;
    this.rateStartMs = ctx.clock.monotonic();
    this.rateStartIndex = this.nextIndex;
  }

  async poll(): Promise<SourceBatch<T> | 'end' | 'idle'> {
    const { count, ratePerSecond, generate, eventTime } = this.options;
    let n = this.batchSize;
    if (count !== undefined) {
      if (this.nextIndex >= count) return 'end';
      n = Math.min(n, count - this.nextIndex);
    }
    if (ratePerSecond !== undefined) {
      const allowed = await this.awaitAllowance(ratePerSecond);
      if (allowed === 0) return 'idle';
      n = Math.min(n, allowed);
    }
    const records = new Array<T>(n);
    const random = this.random;
    const next = random.next;
    for (let k = 0; k < n; k++) {
      const index = this.nextIndex + k;
      random.reseed(mixSeed(this.seed, index));
      records[k] = generate(index, next);
    }
    this.nextIndex += n;
    if (eventTime === undefined) return { records };
    let max = this.maxEventTime;
    for (let k = 0; k < n; k++) {
      const t = eventTime(records[k] as T);
      if (t > max) max = t;
    }
    this.maxEventTime = max;
    if (max === -Infinity) return { records };
    return { records, watermark: max - (this.options.maxOutOfOrdernessMs ?? 0) - 1 };
  }

  /** Records allowed now by the rate; waits (at most ~100 ms, so barriers pass) until one is. */
  private async awaitAllowance(rate: number): Promise<number> {
    const due = () => Math.floor(((this.clock.monotonic() - this.rateStartMs) * rate) / 1000) - (this.nextIndex - this.rateStartIndex);
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
    return { nextIndex: this.nextIndex };
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
