import type { SourceContext } from '../../runtime/source.js';
import type { Timer } from '../../runtime/time/clock.js';
import type { KafkaAdminClient, KafkaClient } from './kafka-client.js';
import { parsePartitionKey, partitionKey } from './kafka-positions.js';

/** What the lag tracker asks its reader about a partition. */
export interface LagPositions {
  /** Whether the reader owns the partition now. */
  owns(key: string): boolean;
  /** The next offset the stream will see from it. */
  position(key: string): number | undefined;
}

/**
 * The `streamline_kafka_consumer_lag_records` series of one reader: set from every batch read,
 * and refreshed from the broker's end offsets every `refreshMs` (one admin connection), so lag
 * keeps growing in the metrics while partitions are paused by backpressure or idle.
 */
export class ConsumerLag {
  private readonly gauges = new Map<string, { set(value: number): void }>();
  private timer: Timer | undefined;
  private admin: Promise<KafkaAdminClient> | undefined;
  private closed = false;

  constructor(
    private readonly ctx: SourceContext,
    private readonly client: KafkaClient,
    private readonly topic: string,
    private readonly positions: LagPositions,
    refreshMs: number,
  ) {
    if (refreshMs > 0) this.timer = ctx.clock.setInterval(() => void this.refresh(), refreshMs);
  }

  /** The lag of one partition as of a batch just read. */
  set(key: string, topic: string, partition: number, lag: number): void {
    let gauge = this.gauges.get(key);
    if (gauge === undefined) {
      gauge = this.ctx.metrics.consumerLag.labels({ job: this.ctx.jobName, topic, partition: String(partition) });
      this.gauges.set(key, gauge);
    }
    gauge.set(lag);
  }

  /** The partition moved away: its series disappears from this instance. */
  remove(key: string): void {
    if (!this.gauges.delete(key)) return;
    const { topic, partition } = parsePartitionKey(key);
    this.ctx.metrics.consumerLag.remove({ job: this.ctx.jobName, topic, partition: String(partition) });
  }

  /** Lag of every owned partition from the broker's end offsets: also while nothing is fetched (paused, idle). */
  async refresh(): Promise<void> {
    if (this.closed) return;
    try {
      this.admin ??= this.client.admin();
      const bounds = await (await this.admin).partitionBounds(this.topic);
      if (this.closed) return;
      for (const { partition, high } of bounds) {
        const key = partitionKey(this.topic, partition);
        const position = this.positions.position(key);
        if (!this.positions.owns(key) || position === undefined) continue;
        this.set(key, this.topic, partition, Math.max(0, Number(high) - position));
      }
    } catch (error) {
      this.admin = undefined;
      this.ctx.logger.debug({ err: (error as Error).message }, 'refreshing the consumer lag failed; retrying at the next interval');
    }
  }

  /** Stops refreshing and removes every series of this reader (the partitions may be read elsewhere next). */
  async close(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    for (const key of [...this.gauges.keys()]) this.remove(key);
    const admin = this.admin;
    this.admin = undefined;
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
  }
}
