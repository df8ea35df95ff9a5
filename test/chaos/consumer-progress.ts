/**
 * Whether the job reads again after a fault, seen from Kafka alone: the job commits its consumer
 * group's offsets after each completed checkpoint, so once it consumes again, the group's
 * committed offsets reach the end offsets the topic had when the probe began. A job that keeps
 * completing (empty) checkpoints while reading nothing shows here as a stall.
 */
import kafkajs from 'kafkajs';

export interface CatchUp {
  readonly caughtUp: boolean;
  readonly ms: number;
  /** Records between the group's committed offsets and the target, at the end. */
  readonly behind: number;
}

/** Waits until `groupId` has committed, on every partition of `topic`, at least the end offset it had at the call. */
export async function awaitGroupCaughtUp(brokers: readonly string[], groupId: string, topic: string, timeoutMs: number): Promise<CatchUp> {
  const started = performance.now();
  const admin = new kafkajs.Kafka({ clientId: 'chaos-progress', brokers: [...brokers], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    // Just after a broker restart its partitions may have no leader yet (NOT_LEADER_FOR_PARTITION): ask again.
    let ends: Awaited<ReturnType<typeof admin.fetchTopicOffsets>> | undefined;
    while (ends === undefined) {
      ends = await admin.fetchTopicOffsets(topic).catch((error: unknown) => {
        if (performance.now() - started > timeoutMs) throw error;
        return undefined;
      });
      if (ends === undefined) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const target = new Map(ends.map((o) => [o.partition, Number(o.high)]));
    let behind = Infinity;
    for (;;) {
      const committed = (await admin.fetchOffsets({ groupId, topics: [topic] }).catch(() => []))[0]?.partitions ?? [];
      const at = new Map(committed.map((p) => [p.partition, Number(p.offset)]));
      behind = [...target].reduce((n, [p, end]) => n + Math.max(0, end - Math.max(0, at.get(p) ?? 0)), 0);
      const ms = Math.round(performance.now() - started);
      if (behind === 0 || ms > timeoutMs) return { caughtUp: behind === 0, ms, behind };
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await admin.disconnect();
  }
}
