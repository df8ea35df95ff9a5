import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { RecordRejectedError } from '../../../../src/errors.js';
import { describeSchemaError, jsonDeserializer } from '../../../../src/operators/kafka/json-deserializer.js';

const Order = z.object({ id: z.string(), amount: z.number().nonnegative() });
const bytes = (s: string) => Buffer.from(s, 'utf8');

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof RecordRejectedError, String(error));
    return error.reason;
  }
  assert.fail('expected a rejection');
}

describe('jsonDeserializer', () => {
  const decode = jsonDeserializer({ schema: Order, maxRecordBytes: 64 });

  it('returns the validated object', () => {
    assert.deepEqual(decode(bytes('{"id":"o-1","amount":3.5}')), { id: 'o-1', amount: 3.5 });
  });

  it('strips what the schema strips (zod output, not the raw JSON)', () => {
    assert.deepEqual(decode(bytes('{"id":"o-1","amount":1,"extra":true}')), { id: 'o-1', amount: 1 });
  });

  it('rejects broken JSON, empty and null values as malformed_json', () => {
    assert.equal(reason(() => decode(bytes('{"id":"o-1",'))), 'malformed_json');
    assert.equal(reason(() => decode(bytes(''))), 'malformed_json');
    assert.equal(reason(() => decode(null)), 'malformed_json');
    assert.equal(reason(() => decode(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))), 'malformed_json');
  });

  it('rejects schema violations with the failing path', () => {
    try {
      decode(bytes('{"id":7,"amount":-1}'));
      assert.fail('expected a rejection');
    } catch (error) {
      assert.ok(error instanceof RecordRejectedError);
      assert.equal(error.reason, 'schema_violation');
      assert.match(error.message, /id/);
      assert.match(error.message, /amount/);
    }
  });

  it('rejects records above the size limit before parsing', () => {
    assert.equal(reason(() => decode(bytes(`{"id":"${'x'.repeat(100)}","amount":1}`))), 'too_large');
  });

  it('passes parsed JSON through without a schema', () => {
    const any = jsonDeserializer<unknown>();
    assert.deepEqual(any(bytes('[1,2]')), [1, 2]);
  });

  it('accepts a hand-written safeParse validator', () => {
    const positive = jsonDeserializer<number>({
      schema: { safeParse: (v) => (typeof v === 'number' && v > 0 ? { success: true, data: v } : { success: false, error: new Error('not positive') }) },
    });
    assert.equal(positive(bytes('4')), 4);
    assert.equal(reason(() => positive(bytes('-4'))), 'schema_violation');
  });

  it('describes errors briefly', () => {
    assert.equal(describeSchemaError(new Error('boom')), 'boom');
    const long = describeSchemaError({ issues: Array.from({ length: 8 }, (_, i) => ({ path: ['f', i], message: 'bad' })) });
    assert.match(long, /^f\.0: bad; .*and 3 more$/);
  });
});
