/**
 * The continuous producer of a chaos run: writes the run's input (ChaosInput) into the topic at a
 * steady rate, with bursts of bad records at moments of the seeded schedule, until stopped. A send
 * that fails is sent again until the broker confirms it (Kafka may then hold it twice; the oracle
 * reads the topic, so a duplicate is expected like any other record), through a broker restart
 * too; sends are one at a time, so a retry can repeat records but never put them out of order.
 * Every confirmed key is kept, in the order sent, for the oracle to check the topic against.
 */
import kafkajs from 'kafkajs';
import type { ChaosInput, ChaosRecord } from './hostile-records.js';

/** What the producer wrote, by record kind (valid, each hostile kind, burst). */
export interface ProducerStats {
  records: number;
  byKind: Record<string, number>;
  sendRetries: number;
  /** The longest a batch waited between its first send and its confirmation, ms. */
  longestUnconfirmedMs: number;
}

const TICK_MS = 100;
/** Records above this go alone in a send: two near the size limit would exceed the broker's batch limit. */
const LARGE_BYTES = 100_000;
/** How long a batch is retried before the run fails: longer than any broker restart of the schedule. */
const CONFIRM_DEADLINE_MS = 180_000;

export class ChaosProducer {
  readonly stats: ProducerStats = { records: 0, byKind: {}, sendRetries: 0, longestUnconfirmedMs: 0 };
  /** Keys of the records the broker confirmed, in the order they were sent. */
  readonly confirmedKeys: string[] = [];
  private stopped = false;
  private running: Promise<void> | undefined;
  private readonly burstsDue: number[] = [];
  private readonly producer: kafkajs.Producer;
  private index = 0;

  constructor(
    brokers: readonly string[],
    private readonly topic: string,
    private readonly input: ChaosInput,
    /** Generator indexes per second. */
    private readonly rate: number,
  ) {
    const kafka = new kafkajs.Kafka({ clientId: 'chaos-producer', brokers: [...brokers], logLevel: kafkajs.logLevel.NOTHING });
    this.producer = kafka.producer({ allowAutoTopicCreation: false });
  }

  async start(): Promise<void> {
    await this.producer.connect();
    this.running = this.loop();
  }

  /** Queues a burst of `count` bad records, sent with the next tick. */
  burst(count: number): void {
    this.burstsDue.push(count);
  }

  /** Stops producing and waits until what was generated is acknowledged. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    await this.producer.disconnect();
  }

  private async loop(): Promise<void> {
    const started = performance.now();
    for (;;) {
      // A stop still sends what is due, bursts included, in one last tick.
      const last = this.stopped;
      const due = Math.floor(((performance.now() - started) / 1000) * this.rate);
      const records: ChaosRecord[] = [];
      for (; this.index < due; this.index++) records.push(...this.input.next(this.index));
      for (const count of this.burstsDue.splice(0)) records.push(...this.input.burst(count, this.index));
      await this.send(records);
      if (last) return;
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
  }

  private async send(records: ChaosRecord[]): Promise<void> {
    const small = records.filter((r) => (r.value?.length ?? 0) < LARGE_BYTES);
    const batches = [small, ...records.filter((r) => (r.value?.length ?? 0) >= LARGE_BYTES).map((r) => [r])];
    for (const batch of batches) {
      if (batch.length === 0) continue;
      const first = performance.now();
      for (;;) {
        try {
          await this.producer.send({ topic: this.topic, acks: -1, timeout: 30_000, messages: batch.map((r) => ({ key: r.key, value: r.value })) });
          break;
        } catch (error) {
          if (performance.now() - first > CONFIRM_DEADLINE_MS) throw new Error(`chaos producer: ${batch.length} records unconfirmed after ${CONFIRM_DEADLINE_MS} ms`, { cause: error });
          this.stats.sendRetries++;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
      this.stats.longestUnconfirmedMs = Math.max(this.stats.longestUnconfirmedMs, Math.round(performance.now() - first));
      for (const r of batch) {
        this.confirmedKeys.push(r.key);
        this.stats.records++;
        this.stats.byKind[r.kind] = (this.stats.byKind[r.kind] ?? 0) + 1;
      }
    }
  }
}
