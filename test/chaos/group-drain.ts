/**
 * The end of a group-mode chaos run: a group has no run to the end (KAFKA_STOP_AT=end is for one
 * instance), so once the producer stopped, the group keeps running until the table's current
 * snapshot records every partition (`streamline.splits`) at the topic's end offset; then every
 * member is stopped gracefully.
 */
import kafkajs from 'kafkajs';
import { currentSnapshotSummary } from '../integration/jobs/support/job-e2e.js';

/** Partitions (`topic:partition`) whose committed position in the table is short of the topic's end; empty once drained. */
async function behind(brokers: readonly string[], topic: string, tableBucketArn: string): Promise<string[]> {
  const admin = new kafkajs.Kafka({ clientId: 'chaos-drain', brokers: [...brokers], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const current = await currentSnapshotSummary(tableBucketArn, 'orders');
  const raw = current?.summary['streamline.splits'];
  const splits = raw === undefined ? {} : (JSON.parse(raw) as { splits: Record<string, [number, number]> }).splits;
  return ends.filter((e) => Number(e.high) > 0 && splits[`${topic}:${e.partition}`]?.[0] !== Number(e.high)).map((e) => `${topic}:${e.partition}`);
}

/** Waits until the table holds every partition up to its end offset; returns the partitions still behind at the deadline. */
export async function awaitCommittedToEnd(brokers: readonly string[], topic: string, tableBucketArn: string, timeoutMs: number): Promise<string[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const left = await behind(brokers, topic, tableBucketArn).catch(() => ['(table or topic not readable)']);
    if (left.length === 0 || performance.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
