import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare, expectations, type DumpedRecord } from '../../chaos/chaos-oracle.js';

const rec = (partition: number, offset: number, key: string | null, headers: Record<string, string> = {}): DumpedRecord => ({ partition, offset: String(offset), key, headers });
const letter = (partition: number, offset: number, topic = 'in'): DumpedRecord =>
  rec(0, 0, null, { 'streamline.dlq.source.topic': topic, 'streamline.dlq.source.partition': String(partition), 'streamline.dlq.source.offset': String(offset) });

describe('the chaos oracle', () => {
  const input = [rec(0, 0, 'o-1'), rec(0, 1, 'o-1'), rec(1, 0, 'bad-0'), rec(1, 1, 'o-2'), rec(2, 0, 'bad-1'), rec(2, 1, 'o-3')];

  it('expects each valid order id once and a dead letter per hostile record (by partition:offset, duplicates included)', () => {
    const e = expectations(input);
    assert.deepEqual([...e.ids].sort(), ['o-1', 'o-2', 'o-3']);
    assert.deepEqual([...e.deadLetters].sort(), ['1:0', '2:0']);
  });

  it('passes an exact outcome and counts repeated dead letters apart from lost ones', () => {
    const o = compare(expectations(input), ['o-3', 'o-1', 'o-2'], [letter(1, 0), letter(2, 0), letter(2, 0)], 'in');
    assert.deepEqual(
      [o.missing, o.duplicated, o.foreign, o.deadLettersExpected, o.deadLettersFound, o.deadLettersLost, o.deadLettersUnexpected, o.deadLetterRepeats, o.validInTable],
      [0, 0, 0, 2, 2, 0, 0, 1, 3],
    );
  });

  it('reports missing, duplicated and foreign rows, and lost and unexpected dead letters', () => {
    const o = compare(expectations(input), ['o-1', 'o-1', 'o-1', 'x-9'], [letter(1, 0), letter(5, 5), letter(2, 0, 'other')], 'in');
    assert.equal(o.missing, 2);
    assert.equal(o.duplicated, 2);
    assert.equal(o.foreign, 1);
    assert.equal(o.deadLettersLost, 1);
    assert.deepEqual(o.samples.lost, ['2:0']);
    assert.equal(o.deadLettersUnexpected, 1);
  });
});
