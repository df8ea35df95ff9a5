import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChaosInput, HOSTILE_KINDS } from '../../chaos/hostile-records.js';
import { faultSchedule, FAULT_KINDS } from '../../chaos/fault-schedule.js';
import { Prng } from '../../chaos/prng.js';

function strictJson(value: Buffer | null): unknown {
  if (value === null || value.length === 0) throw new Error('empty');
  return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(value));
}

describe('the chaos input', () => {
  it('is the same for the same seed and mixes in every hostile kind', () => {
    const a = new ChaosInput(5, new Prng(5), 0.5);
    const b = new ChaosInput(5, new Prng(5), 0.5);
    const kinds = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const ra = a.next(i);
      const rb = b.next(i);
      assert.deepEqual(ra.map((r) => [r.key, r.kind, r.expect]), rb.map((r) => [r.key, r.kind, r.expect]));
      for (const r of ra) kinds.add(r.kind);
    }
    for (const kind of HOSTILE_KINDS) assert.ok(kinds.has(kind), `kind ${kind} generated`);
  });

  it('keys dead-letter records bad-<n> and rows by their order id, which their JSON carries', () => {
    const input = new ChaosInput(9, new Prng(9), 1);
    for (let i = 0; i < 300; i++) {
      for (const r of input.next(i)) {
        if (r.expect === 'row') {
          assert.equal(r.key, r.orderId);
          assert.equal((strictJson(r.value) as { order_id: string }).order_id, r.orderId);
        } else {
          assert.match(r.key, /^bad-\d+$/);
        }
      }
    }
  });

  it('builds hostile values as named: broken UTF-8, 100 000 levels, 1e400, 2^64, near 1 MB', () => {
    const input = new ChaosInput(1, new Prng(1), 1);
    const byKind = new Map<string, Buffer | null>();
    for (let i = 0; byKind.size < HOSTILE_KINDS.length - 1 && i < 2000; i++) for (const r of input.next(i)) byKind.set(r.kind, r.value);
    assert.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(byKind.get('invalid-utf8')!));
    assert.throws(() => strictJson(byKind.get('invalid-json')!));
    assert.equal(byKind.get('null-value'), null);
    assert.equal(byKind.get('empty-value')!.length, 0);
    assert.ok(byKind.get('nested-100k')!.includes('['.repeat(100_000)));
    assert.match(byKind.get('number-1e400')!.toString(), /"unit_price":1e400/);
    assert.match(byKind.get('number-2^64')!.toString(), /"quantity":18446744073709551616/);
    for (const kind of ['near-limit-valid', 'near-limit-invalid']) {
      const bytes = byKind.get(kind)!.length;
      assert.ok(bytes > 1_000_000 && bytes < 1_048_576 - 1_000, `${kind}: ${bytes} bytes`);
    }
    assert.equal((strictJson(byKind.get('year-9999')!) as { created_at: string }).created_at.slice(0, 4), '9999');
  });

  it('bursts are dead letters only', () => {
    const burst = new ChaosInput(2, new Prng(2), 0).burst(1000, 7);
    assert.equal(burst.length, 1000);
    assert.ok(burst.every((r) => r.expect === 'dead-letter' && r.key.startsWith('bad-')));
  });
});

describe('the fault schedule', () => {
  it('is the same for the same seed, different for another, and has every kind once before repeating', () => {
    assert.deepEqual(faultSchedule(3, FAULT_KINDS, 12), faultSchedule(3, FAULT_KINDS, 12));
    assert.notDeepEqual(faultSchedule(3, FAULT_KINDS, 12), faultSchedule(4, FAULT_KINDS, 12));
    const kinds = faultSchedule(3, FAULT_KINDS, 12).slice(0, FAULT_KINDS.length).map((f) => f.kind);
    assert.deepEqual([...kinds].sort(), [...FAULT_KINDS].sort());
  });
});
