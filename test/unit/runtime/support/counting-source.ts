import { jsonSerializer } from '../../../../src/runtime/serializer.js';
import type { Source, SourceBatch, SourceReader } from '../../../../src/runtime/source.js';

/**
 * A bounded source of `{ id, key }` records 0..count-1 in batches; position = next index.
 * `beforePoll` may hold a poll back (say, until a checkpoint has completed); a wakeup (a barrier
 * waiting) ends such a poll early as idle, as a reader waiting for data does.
 */
export function countingSource(options: {
  count: number;
  batchSize: number;
  keys: number;
  pollDelayMs?: number;
  onPoll?: (index: number) => void;
  beforePoll?: (index: number) => Promise<void> | void;
}): Source<TestEvent, { next: number }> {
  return {
    kind: 'test-counter',
    positionSerializer: jsonSerializer<{ next: number }>(),
    createReader(): SourceReader<TestEvent, { next: number }> {
      let next = 0;
      let wake: (() => void) | undefined;
      return {
        async open(_ctx, restored) {
          next = restored?.next ?? 0;
        },
        async poll(): Promise<SourceBatch<TestEvent> | 'end' | 'idle'> {
          if (next >= options.count) return 'end';
          if (options.pollDelayMs) await new Promise((r) => setTimeout(r, options.pollDelayMs));
          const held = options.beforePoll?.(next);
          if (held !== undefined) {
            const woken = new Promise<'idle'>((resolve) => (wake = () => resolve('idle')));
            const outcome = await Promise.race([Promise.resolve(held).then(() => 'go' as const), woken]);
            wake = undefined;
            if (outcome === 'idle') return 'idle';
          }
          options.onPoll?.(next);
          const end = Math.min(options.count, next + options.batchSize);
          const records: TestEvent[] = [];
          for (let i = next; i < end; i++) records.push({ id: i, key: `k${i % options.keys}` });
          next = end;
          return { records };
        },
        wakeup: () => wake?.(),
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
