import type { Operator } from '../../../../src/runtime/operator.js';
import type { TestEvent } from './counting-source.js';

/** Emits `{ id, key, count }`: the running count of the record's key (keyed state). */
export function keyedCount(): Operator<TestEvent, CountedEvent> {
  let state: import('../../../../src/runtime/state/keyed-state-backend.js').ValueState<number>;
  let keyed: import('../../../../src/runtime/state/keyed-state-backend.js').KeyedStateBackend;
  return {
    open(ctx) {
      keyed = ctx.keyedState!;
      state = keyed.valueState<number>({ name: 'count' });
    },
    processBatch(records, out) {
      const result: CountedEvent[] = new Array(records.length);
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        keyed.setCurrentKey(r.key);
        const count = (state.get() ?? 0) + 1;
        state.set(count);
        result[i] = { id: r.id, key: r.key, count };
      }
      out.emit(result);
    },
  };
}

export interface CountedEvent {
  readonly id: number;
  readonly key: string;
  readonly count: number;
}
