import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Subject } from 'rxjs';
import { PipelineCapacity } from '../../../../src/runtime/execution/pipeline-capacity.js';
import { UnionStage } from '../../../../src/runtime/execution/union-stage.js';
import { systemClock } from '../../../../src/runtime/time/system-clock.js';
import { END_OF_INPUT, barrier, dataBatch, watermark, type StreamElement } from '../../../../src/runtime/stream-element.js';

function setup() {
  const a = new Subject<StreamElement<unknown>>();
  const b = new Subject<StreamElement<unknown>>();
  const capacity = new PipelineCapacity(100);
  const union = new UnionStage([a, b], capacity, systemClock);
  const out: StreamElement<unknown>[] = [];
  let completed = false;
  union.output.subscribe({ next: (e) => out.push(e), complete: () => (completed = true) });
  const describe = () => out.map((e) => (e.kind === 'data' ? `d:${e.records.join(',')}` : e.kind === 'barrier' ? `b${e.checkpointId}` : e.kind === 'watermark' ? `w${e.timestamp}` : 'end'));
  return { a, b, capacity, describe, isCompleted: () => completed };
}

test('barrier alignment: an input past its barrier is buffered until the other input delivers it', () => {
  const { a, b, capacity, describe } = setup();
  a.next(dataBatch(['a1']));
  a.next(barrier(1, 0));
  a.next(dataBatch(['a2'])); // after a's barrier: must wait
  b.next(dataBatch(['b1'])); // before b's barrier: flows
  assert.deepEqual(describe(), ['d:a1', 'd:b1']);
  assert.equal(capacity.inFlight, 1, 'the buffered element holds pipeline capacity');
  b.next(barrier(1, 0));
  assert.deepEqual(describe(), ['d:a1', 'd:b1', 'b1', 'd:a2'], 'one barrier out, then the buffer replays');
  assert.equal(capacity.inFlight, 0);
});

test('a replayed buffer containing the next barrier blocks its input again', () => {
  const { a, b, describe } = setup();
  a.next(barrier(1, 0));
  a.next(dataBatch(['a2']));
  a.next(barrier(2, 0));
  a.next(dataBatch(['a3']));
  b.next(barrier(1, 0));
  assert.deepEqual(describe(), ['b1', 'd:a2']);
  b.next(dataBatch(['b2']));
  b.next(barrier(2, 0));
  assert.deepEqual(describe(), ['b1', 'd:a2', 'd:b2', 'b2', 'd:a3']);
});

test('watermark is the minimum over inputs; end-of-input waits for all inputs; completed inputs count as aligned', () => {
  const { a, b, describe, isCompleted } = setup();
  a.next(watermark(10));
  assert.deepEqual(describe(), [], 'no watermark until every input has one');
  b.next(watermark(5));
  a.next(watermark(20));
  b.next(watermark(15));
  assert.deepEqual(describe(), ['w5', 'w15']);
  a.next(END_OF_INPUT);
  assert.ok(!describe().includes('end'));
  b.next(END_OF_INPUT);
  assert.equal(describe().at(-1), 'end');
  a.next(barrier(3, 0, true));
  a.complete();
  b.next(barrier(3, 0, true));
  assert.equal(describe().filter((d) => d === 'b3').length, 1);
  b.complete();
  assert.ok(isCompleted());
});

test('an input that completes while the other is blocked releases the alignment', () => {
  const { a, b, describe } = setup();
  a.next(barrier(4, 0));
  a.next(dataBatch(['late-a']));
  b.complete();
  assert.deepEqual(describe(), ['b4', 'd:late-a']);
});
