/**
 * Watches, while faults are injected, that the job keeps reading — seen from Kafka alone. Every
 * few seconds it notes the topic's end offsets and the job's consumer group's committed offsets
 * (the job commits them after each completed checkpoint); when records that were in the topic
 * STALL_MS ago are still uncommitted, the job has stalled (e.g. partitions left paused: its
 * checkpoints keep completing, empty). Every fault of the schedule is over well within STALL_MS
 * (the longest: a broker outage of up to ~35 s, a kill during restore waiting out two leases).
 */
import kafkajs from 'kafkajs';

const SAMPLE_MS = 2_000;
export const STALL_MS = 60_000;

export class StallWatch {
  /** One note per stall episode. */
  readonly stalls: string[] = [];
  private readonly samples: { at: number; ends: Map<number, number> }[] = [];
  private readonly admin: kafkajs.Admin;
  private timer: NodeJS.Timeout | undefined;
  private stalled = false;
  private busy = false;

  constructor(
    brokers: readonly string[],
    private readonly groupId: string,
    private readonly topic: string,
    private readonly now: () => string,
  ) {
    this.admin = new kafkajs.Kafka({ clientId: 'chaos-stall-watch', brokers: [...brokers], logLevel: kafkajs.logLevel.NOTHING, retry: { retries: 0 } }).admin();
  }

  async start(): Promise<void> {
    await this.admin.connect();
    this.timer = setInterval(() => void this.sample(), SAMPLE_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.busy) await new Promise((resolve) => setTimeout(resolve, 50));
    await this.admin.disconnect().catch(() => undefined);
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const at = performance.now();
      const ends = new Map((await this.admin.fetchTopicOffsets(this.topic)).map((o) => [o.partition, Number(o.high)]));
      this.samples.push({ at, ends });
      const old = this.samples.filter((s) => s.at <= at - STALL_MS).pop();
      if (old === undefined) return;
      this.samples.splice(0, this.samples.indexOf(old));
      const committed = (await this.admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] }))[0]?.partitions ?? [];
      const committedAt = new Map(committed.map((p) => [p.partition, Math.max(0, Number(p.offset))]));
      const behind = [...old.ends].reduce((n, [p, end]) => n + Math.max(0, end - (committedAt.get(p) ?? 0)), 0);
      if (behind > 0 && !this.stalled) this.stalls.push(`${this.now()}: ${behind} records in the topic ${STALL_MS / 1000} s ago still uncommitted by the job's group`);
      this.stalled = behind > 0;
    } catch {
      // The broker is down (a broker-restart fault) or busy: the next sample tries again.
    } finally {
      this.busy = false;
    }
  }
}
