import { jsonSerializer } from '../../../../src/runtime/serializer.js';
import type { Source, SourceBatch, SourceReader } from '../../../../src/runtime/source.js';

/** A bounded source of `{ id, key }` records 0..count-1 in batches; position = next index. */
export function countingSource(options: { count: number; batchSize: number; keys: number; pollDelayMs?: number; onPoll?: (index: number) => void }): Source<TestEvent, { next: number }> {
  return {
    kind: 'test-counter',
    positionSerializer: jsonSerializer<{ next: number }>(),
    createReader(): SourceReader<TestEvent, { next: number }> {
      let next = 0;
      return {
        async open(_ctx, restored) {
          next = restored?.next ?? 0;
        },
        async poll(): Promise<SourceBatch<TestEvent> | 'end'> {
          if (next >= options.count) return 'end';
          if (options.pollDelayMs) await new Promise((r) => setTimeout(r, options.pollDelayMs));
          options.onPoll?.(next);
          const end = Math.min(options.count, next + options.batchSize);
          const records: TestEvent[] = [];
          for (let i = next; i < end; i++) records.push({ id: i, key: `k${i % options.keys}` });
          next = end;
          return { records };
        },
        snapshot: () => ({ next }),
        notifyCheckpointComplete: async () => undefined,
        close: async () => undefined,
      };
    },
  };
}

export interface TestEvent {
  readonly id: number;
  readonly key: string;
}
