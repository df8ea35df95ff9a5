import { jsonSerializer } from '../../../../src/runtime/serializer.js';
import type { Committer, SinkWriter, TwoPhaseCommitSink } from '../../../../src/runtime/sink.js';

/**
 * A two-phase-commit sink over an in-memory "external system" that survives simulated crashes
 * (the test keeps the `TestWarehouse` across runner instances). Staged batches are invisible
 * until committed; commits are idempotent by transaction id, as a real transactional sink's.
 */
export class TestWarehouse<T> {
  readonly staged = new Map<string, T[]>();
  readonly committed: T[] = [];
  readonly committedTxns = new Set<string>();
  private txnCounter = 0;

  newTxnId(): string {
    return `txn-${++this.txnCounter}-${Math.random().toString(36).slice(2)}`;
  }
}

export interface TestSinkHooks {
  /** Called before every write / prepare / commit; throw to simulate a crash there. */
  onWrite?: () => void;
  onPrepare?: (checkpointId: number) => void;
  onCommit?: (checkpointId: number) => void;
}

export function transactionalTestSink<T>(warehouse: TestWarehouse<T>, hooks: TestSinkHooks = {}): TwoPhaseCommitSink<T, string> {
  return {
    kind: 'test-transactional',
    committableSerializer: jsonSerializer<string>(),
    async createWriter(): Promise<SinkWriter<T, string>> {
      let buffer: T[] = [];
      return {
        write(records) {
          hooks.onWrite?.();
          for (const record of records) buffer.push(record);
        },
        async prepareCommit(checkpointId) {
          hooks.onPrepare?.(checkpointId);
          if (buffer.length === 0) return [];
          const txn = warehouse.newTxnId();
          warehouse.staged.set(txn, buffer);
          buffer = [];
          return [txn];
        },
        async close() {},
      };
    },
    async createCommitter(): Promise<Committer<string>> {
      return {
        async commit(requests) {
          for (const request of requests) {
            hooks.onCommit?.(request.checkpointId);
            for (const txn of request.committables) {
              if (warehouse.committedTxns.has(txn)) continue;
              const rows = warehouse.staged.get(txn);
              if (rows === undefined) throw new Error(`transaction ${txn} is unknown to the warehouse`);
              for (const row of rows) warehouse.committed.push(row);
              warehouse.committedTxns.add(txn);
            }
          }
        },
        async close() {},
      };
    },
  };
}
