/**
 * The chaos run's oracle: what a correct job must have produced, worked out from the input topic
 * as the producer left it (valid records are keyed by their order id, hostile ones `bad-<n>`), and
 * what the job did produce — its table read by pyiceberg, its dead-letter topic dumped. Nothing
 * here uses the job's code.
 */
import kafkajs from 'kafkajs';
import { GetTableCommand, S3TablesClient } from '@aws-sdk/client-s3tables';
import { readIcebergTable, uniqueName } from '../helpers/services.js';

/** A message as the oracle sees it: where it is, its key and headers. */
export interface DumpedRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly headers: Record<string, string>;
}

/** Every message of `topic` up to its current end offsets. */
export async function dumpTopic(brokers: readonly string[], topic: string, timeoutMs = 180_000): Promise<DumpedRecord[]> {
  const kafka = new kafkajs.Kafka({ clientId: 'chaos-oracle', brokers: [...brokers], logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const remaining = new Map(ends.map((e) => [e.partition, Number(e.high)]));
  const total = ends.reduce((n, e) => n + Number(e.high) - Number(e.low), 0);
  const records: DumpedRecord[] = [];
  if (total === 0) return records;
  const consumer = kafka.consumer({ groupId: uniqueName('chaos-oracle-'), maxBytes: 32 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dumping ${topic}: ${records.length} of ${total} messages within ${timeoutMs} ms`)), timeoutMs);
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            const end = remaining.get(batch.partition) ?? 0;
            for (const m of batch.messages) {
              if (Number(m.offset) >= end) continue;
              const headers: Record<string, string> = {};
              for (const [name, value] of Object.entries(m.headers ?? {})) headers[name] = String(value);
              records.push({ partition: batch.partition, offset: m.offset, key: m.key?.toString() ?? null, headers });
            }
            if (records.length >= total) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** What the job must produce from the input topic: order ids (deduplicated) and dead letters by origin partition:offset. */
export function expectations(input: readonly DumpedRecord[]): { ids: Set<string>; deadLetters: Set<string> } {
  const ids = new Set<string>();
  const deadLetters = new Set<string>();
  for (const r of input) {
    if (r.key !== null && r.key.startsWith('bad-')) deadLetters.add(`${r.partition}:${r.offset}`);
    else if (r.key !== null) ids.add(r.key);
  }
  return { ids, deadLetters };
}

/** Order ids of the job's table in S3 Tables (read by pyiceberg, straight from moto); duplicates kept. */
export async function tableIds(tableBucketArn: string, namespace: string, name: string, endpoint: string): Promise<string[]> {
  const tables = new S3TablesClient({ endpoint });
  const table = await tables.send(new GetTableCommand({ tableBucketARN: tableBucketArn, namespace, name })).catch(() => undefined);
  if (table?.metadataLocation === undefined) return [];
  const read = await readIcebergTable(table.metadataLocation, { column: 'order_id' });
  return (read.column?.values ?? []).map(String);
}

/** Comparison of what was expected with what the job produced. */
export interface Outcome {
  expectedIds: number;
  rows: number;
  validInTable: number;
  missing: number;
  duplicated: number;
  /** Rows whose id no valid record had (a hostile record turned into a row). */
  foreign: number;
  deadLettersExpected: number;
  /** Distinct origins (partition:offset of the input topic) among the dead letters. */
  deadLettersFound: number;
  deadLettersLost: number;
  /** Dead letters whose origin is not a hostile record (a valid record dead-lettered). */
  deadLettersUnexpected: number;
  /** Dead-letter records beyond one per origin (redelivered after a restart). */
  deadLetterRepeats: number;
  samples: { missing: string[]; duplicated: string[]; foreign: string[]; lost: string[]; unexpected: string[] };
}

export function compare(expected: { ids: Set<string>; deadLetters: Set<string> }, rows: readonly string[], dlq: readonly DumpedRecord[], inputTopic: string): Outcome {
  const counts = new Map<string, number>();
  for (const id of rows) counts.set(id, (counts.get(id) ?? 0) + 1);
  const missing = [...expected.ids].filter((id) => !counts.has(id));
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  const foreign = [...counts.keys()].filter((id) => !expected.ids.has(id));
  // Header names are the dead-letter topic's documented format (docs/jobs.md), not job code.
  const origins = dlq
    .filter((r) => r.headers['streamline.dlq.source.topic'] === inputTopic)
    .map((r) => `${r.headers['streamline.dlq.source.partition']}:${r.headers['streamline.dlq.source.offset']}`);
  const found = new Set(origins);
  const lost = [...expected.deadLetters].filter((o) => !found.has(o));
  const unexpected = [...found].filter((o) => !expected.deadLetters.has(o));
  return {
    expectedIds: expected.ids.size,
    rows: rows.length,
    validInTable: [...counts.keys()].filter((id) => expected.ids.has(id)).length,
    missing: missing.length,
    duplicated: duplicated.reduce((n, id) => n + counts.get(id)! - 1, 0),
    foreign: foreign.length,
    deadLettersExpected: expected.deadLetters.size,
    deadLettersFound: found.size,
    deadLettersLost: lost.length,
    deadLettersUnexpected: unexpected.length,
    deadLetterRepeats: origins.length - found.size,
    samples: { missing: missing.slice(0, 5), duplicated: duplicated.slice(0, 5), foreign: foreign.slice(0, 5), lost: lost.slice(0, 5), unexpected: unexpected.slice(0, 5) },
  };
}
