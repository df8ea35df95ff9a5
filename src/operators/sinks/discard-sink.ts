import { jsonSerializer } from '../../runtime/serializer.js';
import type { TwoPhaseCommitSink } from '../../runtime/sink.js';

/** {@link discardSink}'s sink, with the number of records it has swallowed (all writers). */
export interface DiscardSink<T> extends TwoPhaseCommitSink<T, never> {
  readonly count: number;
}

/**
 * Drops every record and only counts them: the end of benchmarks, so they measure the pipeline
 * and not a sink. Writes are synchronous (no promise per batch).
 *
 * @example const sink = discardSink(); stream.sink('discard', sink); … sink.count
 */
export function discardSink<T>(): DiscardSink<T> {
  let count = 0;
  return {
    kind: 'discard',
    committableSerializer: jsonSerializer<never>(1),
    get count() {
      return count;
    },
    async createWriter() {
      return {
        write(records: readonly T[]) {
          count += records.length;
        },
        async prepareCommit() {
          return [];
        },
        async close() {},
      };
    },
    async createCommitter() {
      return { async commit() {}, async close() {} };
    },
  };
}
