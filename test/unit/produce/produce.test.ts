import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KafkaClient, ProducedMessage } from '../../../src/operators/kafka/kafka-client.js';
import { brokenJson, produce, schemaViolating, type ProducibleJob } from '../../../src/produce.js';

class RecordingClient implements KafkaClient {
  readonly kind = 'recording';
  readonly sent: Array<{ topic: string; messages: readonly ProducedMessage[] }> = [];
  readonly topics: Array<[string, number]> = [];
  consumer(): never {
    throw new Error('not used');
  }
  producer() {
    return {
      connect: async () => {},
      send: async (topic: string, messages: readonly ProducedMessage[]) => void this.sent.push({ topic, messages }),
      disconnect: async () => {},
    };
  }
  async admin() {
    return {
      ensureTopic: async (topic: string, partitions: number) => (this.topics.push([topic, partitions]), true),
      describeTopic: async () => undefined,
      partitionBounds: async () => [],
      offsetsForTimestamp: async () => [],
      disconnect: async () => {},
    };
  }
  values(): string[] {
    return this.sent.flatMap((s) => s.messages.map((m) => String(m.value)));
  }
}

const job: ProducibleJob = { input: { topic: 'orders', generate: (index, random) => ({ id: index, amount: Math.round(random() * 100), tag: 'x' }) } };

describe('produce', () => {
  it('writes count records of the job generator, keyed by index, after creating the topic', async () => {
    const client = new RecordingClient();
    const summary = await produce({ job, client, count: 12_001, partitions: 3 });
    assert.deepEqual(summary, { produced: 12_001, bad: 0, topic: 'orders' });
    assert.deepEqual(client.topics, [['orders', 3]]);
    const values = client.values().map((v) => JSON.parse(v) as { id: number });
    assert.equal(values.length, 12_001);
    values.forEach((v, i) => assert.equal(v.id, i));
    assert.equal(client.sent.flatMap((s) => s.messages)[42]!.key, '42');
  });

  it("keys by the job's record key when it declares one (malformed records keep their record's key), by index on request", async () => {
    const keyed: ProducibleJob = { input: { ...job.input, key: (r) => `k-${(r as { id: number }).id % 7}` } };
    const byRecord = new RecordingClient();
    const summary = await produce({ job: keyed, client: byRecord, count: 100, badFraction: 0.3, seed: 3 });
    const messages = byRecord.sent.flatMap((s) => s.messages);
    messages.forEach((m, i) => assert.equal(m.key, `k-${i % 7}`));
    assert.ok(summary.bad > 0);
    const byIndex = new RecordingClient();
    await produce({ job: keyed, client: byIndex, count: 10, keyBy: 'index' });
    assert.deepEqual(byIndex.sent.flatMap((s) => s.messages).map((m) => m.key), Array.from({ length: 10 }, (_, i) => String(i)));
    await assert.rejects(produce({ job, client: new RecordingClient(), count: 1, keyBy: 'record' }), /declares no input.key/);
  });

  it('with an input schema, the record key sees the record as the schema validates it', async () => {
    // A hand-written validator that normalizes: what the job (and so its key function) sees.
    const schema = {
      safeParse: (value: unknown) => {
        const id = (value as { id?: unknown }).id;
        return typeof id === 'number' ? { success: true as const, data: { orderId: `o-${id}` } } : { success: false as const, error: new Error('no id') };
      },
    };
    const typed: ProducibleJob = { input: { ...job.input, schema, key: (r) => (r as { orderId: string }).orderId } };
    const client = new RecordingClient();
    await produce({ job: typed, client, count: 5, badFraction: 0.5, seed: 1 });
    assert.deepEqual(client.sent.flatMap((s) => s.messages).map((m) => m.key), ['o-0', 'o-1', 'o-2', 'o-3', 'o-4']);
    const broken: ProducibleJob = { input: { ...typed.input, generate: () => ({ id: 'not a number' }) } };
    await assert.rejects(produce({ job: broken, client: new RecordingClient(), count: 1 }), /generator record 0 violates the job's input schema/);
  });

  it('is deterministic per seed, and bad records do not change the good ones', async () => {
    const a = new RecordingClient();
    const b = new RecordingClient();
    const c = new RecordingClient();
    await produce({ job, client: a, count: 500, seed: 9 });
    await produce({ job, client: b, count: 500, seed: 9, badFraction: 0.2 });
    await produce({ job, client: c, count: 500, seed: 10 });
    assert.notDeepEqual(a.values(), c.values());
    const summary = await produce({ job, client: new RecordingClient(), count: 500, seed: 9, badFraction: 0.2 });
    const bad = new Set(summary.badIds);
    assert.ok(summary.bad > 60 && summary.bad < 140, `about 20% bad, got ${summary.bad}`);
    let malformed = 0;
    b.values().forEach((value, i) => {
      if (!bad.has(i)) return assert.equal(value, a.values()[i]);
      try {
        const parsed = JSON.parse(value) as Record<string, unknown>;
        assert.equal(typeof parsed.id, 'string', 'schema-violating: id has the wrong type');
      } catch {
        malformed++;
      }
    });
    assert.ok(malformed > 0 && malformed < summary.bad);
  });

  it('paces to the requested rate', async () => {
    const started = performance.now();
    await produce({ job, client: new RecordingClient(), count: 60, rate: 200 });
    // The last of 6 chunks of 10 is due 250 ms in; timers may fire a millisecond or so early.
    assert.ok(performance.now() - started >= 240, 'the last chunk of 60 records at 200/s starts after ~250 ms');
  });
});

describe('malformed record builders', () => {
  it('brokenJson never parses', () => {
    for (const value of [{ a: 1 }, { s: 'x}"{' }, [1, 2], {}, 5, 'str', null, { nested: { deep: [1, { x: '}' }] } }]) {
      assert.throws(() => JSON.parse(brokenJson(value)), SyntaxError, JSON.stringify(value));
    }
  });

  it('schemaViolating changes every field type', () => {
    assert.deepEqual(schemaViolating({ s: 'a', n: 1, b: true, o: {}, z: null }), { s: 12345, n: 'not-a-number', b: 'maybe', o: 'wrong-type', z: 'wrong-type' });
    assert.deepEqual(schemaViolating(7), { unexpected: 7 });
  });
});
