import { once } from 'node:events';
import { jsonSerializer } from '../../runtime/serializer.js';
import type { TwoPhaseCommitSink } from '../../runtime/sink.js';

/** Options of {@link stdoutSink}. */
export interface StdoutSinkOptions {
  /** Where lines go; default `process.stdout` (logs are on stderr, so stdout stays clean). */
  readonly stream?: NodeJS.WritableStream;
}

/**
 * Debugging sink: prints each record as a JSON line as soon as it arrives. Not exactly-once —
 * records replayed after a restore are printed again — so it has nothing to commit.
 *
 * @example stream.sink('print', stdoutSink())
 */
export function stdoutSink<T>(options: StdoutSinkOptions = {}): TwoPhaseCommitSink<T, never> {
  const stream = options.stream ?? process.stdout;
  return {
    kind: 'stdout',
    committableSerializer: jsonSerializer<never>(1),
    async createWriter() {
      return {
        async write(records: readonly T[]) {
          if (records.length === 0) return;
          let text = '';
          for (let i = 0; i < records.length; i++) text += JSON.stringify(records[i], bigintAsString) + '\n';
          // Respect the stream's backpressure instead of buffering without bound.
          if (!stream.write(text)) await once(stream, 'drain');
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

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
