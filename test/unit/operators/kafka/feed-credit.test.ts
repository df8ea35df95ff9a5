/**
 * FeedCredit: a partition whose batches wait unread in a subtask's port is paused over the limit
 * and resumed at half, and the subtask reader's own pauses and the credit's never undo each other.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FeedCredit } from '../../../../src/operators/kafka/feed-credit.js';

test('over the limit in flight a partition pauses once; it resumes when half is taken', () => {
  const credit = new FeedCredit(4_000);
  assert.equal(credit.sent('t:0', 1_500), false);
  assert.equal(credit.sent('t:0', 1_500), false);
  assert.equal(credit.sent('t:0', 1_500), true, '4 500 bytes in flight > 4 000: pause');
  assert.equal(credit.sent('t:0', 1_000), false, 'already paused: a fetch that was under way arrives, no second pause');
  assert.equal(credit.bytesInFlight('t:0'), 5_500);
  assert.equal(credit.sent('t:1', 3_000), false, 'partitions count apart');
  assert.equal(credit.taken('t:0', 1_500), false, '4 000 left: still over half');
  assert.equal(credit.taken('t:0', 1_500), false, '2 500 left');
  assert.equal(credit.taken('t:0', 1_000), true, '1 500 left <= 2 000: resume');
  assert.equal(credit.taken('t:0', 1_500), false, 'not paused any more: nothing to resume');
  assert.equal(credit.bytesInFlight('t:0'), 0);
});

test("the reader's pause outlasts the credit, and the credit's outlasts the reader's resume", () => {
  const credit = new FeedCredit(1_000);
  credit.readerPause('t:0');
  assert.equal(credit.sent('t:0', 2_000), false, 'the reader already paused it');
  assert.equal(credit.taken('t:0', 2_000), false, 'credit is back, but the reader still wants it paused');
  assert.equal(credit.readerResume('t:0'), true, 'the reader resumes and the credit allows it');

  assert.equal(credit.sent('t:0', 2_000), true);
  credit.readerPause('t:0');
  assert.equal(credit.readerResume('t:0'), false, 'the reader resumes, but 2 000 bytes still wait in the port');
  assert.equal(credit.taken('t:0', 2_000), true, 'taken: now it resumes');
});

test('a taken report for bytes sent before a relink (a new credit) never goes below zero', () => {
  const credit = new FeedCredit(1_000);
  assert.equal(credit.taken('t:0', 5_000), false);
  assert.equal(credit.bytesInFlight('t:0'), 0);
  assert.equal(credit.sent('t:0', 900), false, 'no negative balance hides a pile-up');
  assert.equal(credit.sent('t:0', 200), true);
  assert.throws(() => new FeedCredit(0), RangeError);
});
