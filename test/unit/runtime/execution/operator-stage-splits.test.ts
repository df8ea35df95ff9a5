/**
 * An operator stage in group mode: keyed state is written per source split, what the operator
 * emits keeps the split of the batch it came from, a split's state restored alone continues that
 * split only, and keys crossing splits are counted. Which keys a split holds is checked by
 * restoring only that split into a fresh backend.
 */
import { systemClock } from '../../../../src/runtime/time/system-clock.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import { pino } from 'pino';
import { keyedProcessOperator } from '../../../../src/operators/keyed-process.js';
import type { DeadLetter, DeadLetterSink } from '../../../../src/runtime/dead-letter.js';
import { OperatorStage } from '../../../../src/runtime/execution/operator-stage.js';
import { KEYED_CHAIN_SECTION } from '../../../../src/runtime/execution/keyed-state-sections.js';
import type { TaskSnapshot } from '../../../../src/runtime/execution/task-snapshot.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import type { Operator } from '../../../../src/runtime/operator.js';
import { decodeChain, type StateChain } from '../../../../src/runtime/state/snapshot/state-chain.js';
import { BackendFactory } from '../state/support/backend-factory.js';
import type { KeyedStateBackend, ValueState } from '../../../../src/runtime/state/keyed-state-backend.js';
import { barrier, dataBatch, watermark, type StreamElement } from '../../../../src/runtime/stream-element.js';

const A = 'orders:0';
const B = 'orders:1';
const TASK = 'count';

interface Event {
  readonly user: string;
}
interface Counted {
  readonly user: string;
  readonly n: number;
}

class NoDeadLetters implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];
  send(letters: readonly DeadLetter[]): void {
    this.letters.push(...letters);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

const factory = new BackendFactory();

/** Keys held by `split` in `chain`, restored alone into a fresh backend. */
async function keysOfSplit(chain: StateChain, split: string): Promise<string[]> {
  const b = factory.heap();
  await b.restore([{ kind: 'chain', input: { chain, splits: [split] } }]);
  b.valueState({ name: 'n' });
  return ([...b.keys('n')] as string[]).sort();
}

/** A stage running a per-user counter, wired like the job runner wires it (keyed state restored first), with everything it emits and acks recorded. */
async function countingStage(restored?: { chain: StateChain; splits: string[] }) {
  const input = new Subject<StreamElement<unknown>>();
  const acks: TaskSnapshot[] = [];
  const failures: unknown[] = [];
  const warnings: string[] = [];
  const metrics = new MetricsRegistry();
  const now = 1_700_000_000_000;
  const keyedState = factory.heap();
  if (restored) await keyedState.restore([{ kind: 'chain', input: restored }]);
  const counter = keyedProcessOperator<Event, Counted, ValueState<number>>({
    declareState: (b) => b.valueState<number>({ name: 'n' }),
    process: (e, n, out) => {
      const next = (n.get() ?? 0) + 1;
      n.set(next);
      out.emit({ user: e.user, n: next });
    },
  });
  // The counter, plus keyed work on watermarks (as a window firing would do): counts key 'wm'.
  let backend: KeyedStateBackend;
  const operator: Operator<unknown, unknown> = {
    open(ctx, bytes) {
      backend = ctx.keyedState!;
      counter.open(ctx, bytes);
    },
    processBatch: (records, out) => counter.processBatch(records as Event[], out),
    processWatermark(_timestamp, out) {
      backend.setCurrentKey('wm');
      const n = backend.valueState<number>({ name: 'n' });
      n.set((n.get() ?? 0) + 1);
      out.emit([{ user: 'wm', n: n.get()! }]);
    },
  };
  const stage = new OperatorStage(input, {
    taskId: TASK,
    jobName: 'job',
    operator,
    keyedState,
    keySelector: (r) => (r as Event).user,
    stateful: true,
    restored: undefined,
    ack: (s) => acks.push(s),
    metrics,
    logger: pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) }),
    deadLetters: new NoDeadLetters(),
    clock: { ...systemClock, now: () => now },
    mail: (_description, action) => action(),
    fail: (error) => failures.push(error),
  });
  const out: StreamElement<unknown>[] = [];
  stage.output.subscribe((e) => out.push(e));
  const send = (split: string | undefined, ...users: string[]) => input.next(dataBatch(users.map((user) => ({ user })), split));
  /** Acks the barrier of `checkpointId` and returns the keyed state's chain once written. */
  const checkpoint = async (checkpointId: number): Promise<StateChain> => {
    input.next(barrier(checkpointId, now));
    const ack = acks.find((a) => a.checkpointId === checkpointId);
    assert.ok(ack, `barrier ${checkpointId} acked`);
    const part = await ack.pending;
    const section = part?.sections[0];
    assert.equal(section?.name, KEYED_CHAIN_SECTION);
    return decodeChain(section!.bytes, TASK);
  };
  const data = () => out.filter((e) => e.kind === 'data');
  const conflictsMetric = async () => {
    const metric = await metrics.stateSplitConflicts.get();
    return metric.values.find((v) => v.labels.job === 'job' && v.labels.operator === TASK)?.value ?? 0;
  };
  return { input, send, checkpoint, out, data, failures, warnings, keyedState, conflictsMetric };
}

/** The counts a stage emitted, as `user=n` in order. */
const counts = (batches: StreamElement<unknown>[]) => batches.flatMap((e) => (e.kind === 'data' ? (e.records as Counted[]).map((c) => `${c.user}=${c.n}`) : []));

test('on a barrier the ack carries the keyed state as its asynchronous part, and each split holds its own keys', async () => {
  const s = await countingStage();
  s.send(A, 'alice', 'bob');
  s.send(B, 'carol');
  s.send(A, 'alice');
  const chain = await s.checkpoint(1);
  assert.deepEqual(s.failures, []);
  assert.equal(s.out.at(-1)?.kind, 'barrier', 'the barrier is forwarded at once, before the state is written');
  assert.deepEqual(await keysOfSplit(chain, A), ['alice', 'bob']);
  assert.deepEqual(await keysOfSplit(chain, B), ['carol']);
  assert.deepEqual(await keysOfSplit(chain, ''), []);
});

test('output batches carry the split of the input batch they were produced from', async () => {
  const s = await countingStage();
  s.send(A, 'alice');
  s.send(B, 'carol');
  s.send(undefined, 'dave');
  const batches = s.data();
  assert.deepEqual(
    batches.map((e) => (e.kind === 'data' ? e.split : 'x')),
    [A, B, undefined],
  );
  assert.deepEqual(counts(batches), ['alice=1', 'carol=1', 'dave=1']);
});

test("a stage restored with one split's state continues that split and knows nothing of the other", async () => {
  const first = await countingStage();
  first.send(A, 'alice', 'alice', 'bob');
  first.send(B, 'carol', 'carol', 'carol');
  const chain = await first.checkpoint(1);

  // Restored keys belong to A even before a record touches them: an immediate checkpoint keeps them there.
  const untouched = await countingStage({ chain, splits: [A] });
  const kept = await untouched.checkpoint(1);
  assert.deepEqual(await keysOfSplit(kept, A), ['alice', 'bob']);
  assert.deepEqual(await keysOfSplit(kept, B), []);

  const second = await countingStage({ chain, splits: [A] });
  second.send(A, 'alice', 'bob');
  second.send(B, 'carol');
  assert.deepEqual(counts(second.data()), ['alice=3', 'bob=2', 'carol=1'], "A's counts continue, carol starts over");
  const again = await second.checkpoint(2);
  assert.deepEqual(await keysOfSplit(again, A), ['alice', 'bob']);
  assert.deepEqual(await keysOfSplit(again, B), ['carol']);
});

test('keys processed outside any split (no split on the batch) belong to no split and are restored from it', async () => {
  const first = await countingStage();
  first.send(undefined, 'dave');
  first.send(A, 'alice');
  const chain = await first.checkpoint(1);
  assert.deepEqual(await keysOfSplit(chain, ''), ['dave']);
  const second = await countingStage({ chain, splits: [''] });
  second.send(undefined, 'dave');
  second.send(A, 'alice');
  assert.deepEqual(counts(second.data()), ['dave=2', 'alice=1']);
});

test('a key arriving from another split increments streamline_state_split_conflicts_total and warns once', async () => {
  const s = await countingStage();
  s.send(A, 'alice');
  assert.equal(await s.conflictsMetric(), 0);
  s.send(B, 'alice'); // same key as the last record of the previous batch, other split
  assert.equal(await s.conflictsMetric(), 1);
  s.send(A, 'alice');
  assert.equal(await s.conflictsMetric(), 1, 'back in its own split: no conflict');
  s.send(B, 'bob', 'alice');
  assert.equal(await s.conflictsMetric(), 2);
  assert.equal(s.keyedState.splitConflicts, 2, 'the metric mirrors the backend count');
  assert.equal(s.warnings.length, 1, 'warned on the first conflict only');
  assert.match(s.warnings[0]!, /another source partition/);
  assert.deepEqual(counts(s.data()), ['alice=1', 'alice=2', 'alice=3', 'bob=1', 'alice=4'], 'the key keeps one state whatever the split');
});

test("watermarks run with no split current: what they key and emit belongs to no split, not to the previous batch's", async () => {
  const s = await countingStage();
  s.send(A, 'alice');
  s.input.next(watermark(10));
  const fromWatermark = s.data().at(-1);
  assert.ok(fromWatermark?.kind === 'data');
  assert.deepEqual(fromWatermark.records, [{ user: 'wm', n: 1 }]);
  assert.equal(fromWatermark.split, undefined, 'emitted on a watermark: no split');
  const chain = await s.checkpoint(1);
  assert.deepEqual(await keysOfSplit(chain, ''), ['wm']);
  assert.deepEqual(await keysOfSplit(chain, A), ['alice']);
});
