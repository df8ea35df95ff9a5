/**
 * The producer's side of the oracle: the topic must hold every record the broker confirmed to
 * the chaos producer (a broker crash must not lose an acknowledged write), nothing the producer
 * never sent, and, per partition, each key first where the producer's send order puts it (a
 * retried send may repeat records after the originals, never put them before earlier ones).
 */
import type { DumpedRecord } from './chaos-oracle.js';

export interface LedgerCheck {
  /** Distinct keys the producer saw confirmed. */
  confirmed: number;
  /** Confirmed keys absent from the topic. */
  lost: number;
  /** Keys in the topic the producer never saw confirmed (a send that failed for the producer but was written). */
  unconfirmedInTopic: number;
  /** Keys whose first occurrence in their partition comes before a key the producer confirmed earlier. */
  reordered: number;
  samples: { lost: string[]; reordered: string[] };
}

export function checkLedger(confirmedKeys: readonly string[], input: readonly DumpedRecord[]): LedgerCheck {
  const rank = new Map<string, number>();
  for (const key of confirmedKeys) if (!rank.has(key)) rank.set(key, rank.size);
  const inTopic = new Set<string>();
  const byPartition = new Map<number, DumpedRecord[]>();
  for (const r of input) {
    if (r.key === null) continue;
    inTopic.add(r.key);
    const list = byPartition.get(r.partition) ?? [];
    list.push(r);
    byPartition.set(r.partition, list);
  }
  const reordered: string[] = [];
  for (const records of byPartition.values()) {
    records.sort((a, b) => (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
    const seen = new Set<string>();
    let highest = -1;
    for (const r of records) {
      if (seen.has(r.key!)) continue;
      seen.add(r.key!);
      const at = rank.get(r.key!);
      if (at === undefined) continue;
      if (at < highest) reordered.push(r.key!);
      highest = Math.max(highest, at);
    }
  }
  const lost = [...rank.keys()].filter((k) => !inTopic.has(k));
  return {
    confirmed: rank.size,
    lost: lost.length,
    unconfirmedInTopic: [...inTopic].filter((k) => !rank.has(k)).length,
    reordered: reordered.length,
    samples: { lost: lost.slice(0, 5), reordered: reordered.slice(0, 5) },
  };
}
