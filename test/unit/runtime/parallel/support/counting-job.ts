/**
 * A job for parallel-run tests: generated records `{ id, key }` (a key's records share a
 * generator split, as a key's messages share a Kafka partition), a running count per key, and
 * exactly-once JSON-lines files. COUNT, OUT_DIR, RATE, KEYS (`spread`: see keyOf), SOURCE_PARTITIONED
 * (`true`: the count step is declared source-partitioned, no keyed exchange), EXIT_AT and
 * FAIL_FINAL_COMMITS come from the settings: the first record at or past EXIT_AT that a subtask
 * processes once some output is committed ends its thread, as a crash of a subtask between
 * checkpoints; the first FAIL_FINAL_COMMITS attempts at the final checkpoint's commit fail, as a
 * catalog outage during a stop would.
 */
import { readdirSync } from 'node:fs';
import { keyedProcessOperator } from '../../../../../src/operators/keyed-process.js';
import { jsonlFileSink } from '../../../../../src/operators/sinks/jsonl-file-sink.js';
import { datagenSource, GENERATOR_SPLITS } from '../../../../../src/operators/sources/datagen-source.js';
import { Dataflow } from '../../../../../src/runtime/graph/dataflow.js';
import { defineDataflowJob } from '../../../../../src/runtime/job.js';
import type { TwoPhaseCommitSink } from '../../../../../src/runtime/sink.js';
import type { ValueState } from '../../../../../src/runtime/state/keyed-state-backend.js';

export interface CountedRecord {
  readonly id: number;
  readonly key: string;
  readonly count: number;
}

/**
 * The key of record `id`: with `spread`, 7 keys whose records come from every generator split
 * (as a topic not partitioned by the key); otherwise 5 keys per split.
 */
export function keyOf(id: number, spread = false): string {
  return spread ? `s${id % 7}` : `k${id % GENERATOR_SPLITS}-${Math.floor(id / GENERATOR_SPLITS) % 5}`;
}

/** `sink`, whose committer fails its first `failures` commits of a final checkpoint. */
function failingFinalCommits<T, C>(sink: TwoPhaseCommitSink<T, C>, failures: number): TwoPhaseCommitSink<T, C> {
  let failed = 0;
  return {
    ...sink,
    async createCommitter(ctx) {
      const committer = await sink.createCommitter(ctx);
      return {
        commit: (requests, options) => {
          if (options?.final === true && failed < failures) {
            failed++;
            return Promise.reject(new Error(`commit attempt ${failed} refused: output unreachable`));
          }
          return committer.commit(requests, options);
        },
        close: () => committer.close(),
        ...(committer.claimSplits ? { claimSplits: committer.claimSplits.bind(committer) } : {}),
        ...(committer.committedSplits ? { committedSplits: committer.committedSplits.bind(committer) } : {}),
        ...(committer.referencedCheckpoints ? { referencedCheckpoints: committer.referencedCheckpoints.bind(committer) } : {}),
      };
    },
  };
}

function committedAny(directory: string): boolean {
  return readdirSync(directory).some((f) => f.endsWith('.jsonl') && !f.startsWith('.'));
}

export default defineDataflowJob({
  name: 'pcount',
  checkpoint: { intervalMs: 30, retain: 2 },
  build(env) {
    const count = Number(env.settings.COUNT);
    const exitAt = env.settings.EXIT_AT === undefined ? undefined : Number(env.settings.EXIT_AT);
    const spread = env.settings.KEYS === 'spread';
    const flow = new Dataflow('pcount');
    flow
      .source('input', datagenSource({ count, batchSize: 64, ratePerSecond: Number(env.settings.RATE ?? 1e9), generate: (id) => ({ id, key: keyOf(id, spread) }) }))
      .keyBy((r) => r.key, { sourcePartitioned: env.settings.SOURCE_PARTITIONED === 'true' })
      .apply('count', () =>
        keyedProcessOperator<{ id: number; key: string }, CountedRecord, ValueState<number>>({
          declareState: (b) => b.valueState<number>({ name: 'n' }),
          process(record, n, out) {
            // In a subtask thread this ends the thread only: the coordinator sees a subtask die.
            if (exitAt !== undefined && record.id >= exitAt && committedAny(env.settings.OUT_DIR!)) process.exit(3);
            const next = (n.get() ?? 0) + 1;
            n.set(next);
            out.emit({ id: record.id, key: record.key, count: next });
          },
        }),
      )
      .sink('out', failingFinalCommits(jsonlFileSink({ directory: env.settings.OUT_DIR! }), Number(env.settings.FAIL_FINAL_COMMITS ?? 0)));
    return { flow };
  },
});
