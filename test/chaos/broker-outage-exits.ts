/**
 * Which job exits a broker crash excuses. The job retries every Kafka call for up to
 * RETRY_DEADLINE_MS, so a broker that is back within that deadline must be ridden out: any exit
 * then is unexpected. Only when the broker stayed unreachable (kill → answering again) longer
 * than the deadline may the job give up — with a non-zero exit whose last log lines name Kafka,
 * at the earliest when the broker went down and at the latest one deadline after it answered
 * again (a call started just before it came back may still be failing).
 */
import type { BrokerOutage } from './broker-control.js';

/** Whether an exit at `exitAt` (ms, performance.now()) with log tail `tail` is the expected end of a too-long broker outage. */
export function excusedByBrokerOutage(outages: readonly BrokerOutage[], retryDeadlineMs: number, exitAt: number, clean: boolean, tail: string): boolean {
  if (clean || !/kafka/i.test(tail)) return false;
  return outages.some((o) => {
    const downFor = (o.readyAt ?? exitAt) - o.killedAt;
    return downFor > retryDeadlineMs && exitAt >= o.killedAt && exitAt <= (o.readyAt ?? Infinity) + retryDeadlineMs;
  });
}
