/**
 * The blocking onRevoke callback of our consumers (kafkajs and @platformatic/kafka) against a
 * real broker. It also guards the client internals that src/operators/kafka/kafkajs-rejoin-hook.ts
 * and platformatic-rejoin-hook.ts rely on: when a client changes them, these tests fail first.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { pino } from 'pino';
import type { Logger } from '../../../src/runtime/logger.js';
import { ensureServices, uniqueName } from '../../helpers/services.js';
import { createKafkaClient } from '../../../src/operators/kafka/kafka-client-factory.js';
import type { ConsumerOptions, KafkaClient, KafkaConsumerClient, TopicPartition, TopicPartitionOffset } from '../../../src/operators/kafka/kafka-client.js';
import { KAFKA_CLIENTS, config } from './reader-harness.js';

const PARTITIONS = 4;
const RECORDS_PER_PARTITION = 5;
const WAIT_MS = 90_000; // generous: the CI machine has 2 cores
const TEST_TIMEOUT_MS = 180_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Short heartbeats and fetch waits so rebalances are noticed within about a second. */
function consumerOptions(groupId: string, topic: string, overrides: Partial<ConsumerOptions> = {}): ConsumerOptions {
  return { groupId, topics: [topic], sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, maxWaitTimeMs: 500, rebalanceTimeoutMs: 60_000, ...overrides };
}

interface Assignment {
  readonly at: number;
  readonly partitions: readonly number[];
}

interface Revoke {
  readonly start: number;
  /** When the callback was about to resolve (or throw); undefined while it runs. */
  end?: number;
  /** Partitions the member owned when the callback started. */
  readonly owned: readonly number[];
}

/** One group member and what it observed, in wall-clock order. */
class Member {
  readonly assignments: Assignment[] = [];
  readonly revokes: Revoke[] = [];
  /** Next offset to read per partition, from what was fetched. */
  readonly positions = new Map<number, string>();
  fatal: Error | undefined;
  readonly consumer: KafkaConsumerClient;

  constructor(client: KafkaClient, options: ConsumerOptions, private readonly topic: string, private readonly readFromStart = false) {
    this.consumer = client.consumer(options);
  }

  get owned(): readonly number[] {
    return this.assignments.at(-1)?.partitions ?? [];
  }

  /** Starts with `revoke` as the body of onRevoke (given this member); resolves once running. */
  start(revoke?: (member: Member) => Promise<void>): Promise<void> {
    return this.consumer.start({
      onAssignment: (assignment: readonly TopicPartition[]) => {
        this.assignments.push({ at: Date.now(), partitions: assignment.map((tp) => tp.partition).sort((a, b) => a - b) });
        // Without a committed offset kafkajs would start at the end, after the records setUp produced.
        if (this.readFromStart) for (const tp of assignment) if (!this.positions.has(tp.partition)) this.consumer.seek({ ...tp, offset: '0' });
      },
      onBatch: (batch) => {
        const last = batch.messages.at(-1);
        if (last !== undefined) this.positions.set(batch.partition, String(BigInt(last.offset) + 1n));
      },
      onFatal: (error) => {
        this.fatal = error;
      },
      ...(revoke === undefined
        ? {}
        : {
            onRevoke: async () => {
              const entry: Revoke = { start: Date.now(), owned: this.owned };
              this.revokes.push(entry);
              try {
                await revoke(this);
              } finally {
                entry.end = Date.now();
              }
            },
          }),
    });
  }

  /** Offsets to commit for what this member fetched from the partitions it owns. */
  fetchedOffsets(): TopicPartitionOffset[] {
    return this.owned.flatMap((partition) => {
      const offset = this.positions.get(partition);
      return offset === undefined ? [] : [{ topic: this.topic, partition, offset }];
    });
  }

  /** True when this member fetched every record setUp produced into the partitions it owns. */
  fetchedAll(): boolean {
    return this.owned.every((partition) => this.positions.get(partition) === String(RECORDS_PER_PARTITION));
  }

  firstNonEmptyAssignment(): Assignment | undefined {
    return this.assignments.find((a) => a.partitions.length > 0);
  }
}

async function waitFor(what: string, condition: () => boolean, members: readonly Member[], timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    const fatal = members.find((m) => m.fatal !== undefined)?.fatal;
    if (fatal !== undefined) throw fatal;
    if (Date.now() > deadline) {
      const seen = members.map((m, i) => `member ${i}: assignments ${JSON.stringify(m.assignments)} revokes ${JSON.stringify(m.revokes)}`).join('; ');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${seen}`);
    }
    await sleep(50);
  }
}

/** True when the members' current assignments split all partitions, each owned exactly once, none empty. */
function splitBetween(members: readonly Member[]): boolean {
  const owned = members.map((m) => m.owned);
  if (owned.some((list) => list.length === 0)) return false;
  const all = owned.flat().sort((a, b) => a - b);
  return all.length === PARTITIONS && all.every((partition, index) => partition === index);
}

for (const kind of KAFKA_CLIENTS) describe(`${kind} consumer: blocking onRevoke (real broker)`, () => {
  let brokers: string[];
  let admin: kafkajs.Admin;
  const members: Member[] = [];

  before(async () => {
    brokers = (await ensureServices({ kafka: true })).kafkaBrokers;
    admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
  });
  after(async () => {
    // Stopped together: stopping one at a time would make the others rebalance (and wait in onRevoke).
    await Promise.allSettled(members.splice(0).map((m) => m.consumer.stop()));
    await admin?.disconnect();
  });

  /** A topic with records in every partition, and a fresh group on it. */
  async function setUp(prefix: string, logger?: Logger): Promise<{ topic: string; groupId: string; client: KafkaClient }> {
    const topic = uniqueName(`${prefix}-`);
    const groupId = uniqueName(`grp-${prefix}-`);
    const client = createKafkaClient(config(brokers, groupId, {}, kind), logger);
    const ours = await client.admin();
    try {
      assert.equal(await ours.ensureTopic(topic, PARTITIONS), true);
    } finally {
      await ours.disconnect();
    }
    const producer = client.producer();
    await producer.connect();
    try {
      const records = Array.from({ length: PARTITIONS * RECORDS_PER_PARTITION }, (_, i) => ({ key: String(i), value: `v${i}`, partition: i % PARTITIONS }));
      await producer.send(topic, records);
    } finally {
      await producer.disconnect();
    }
    return { topic, groupId, client };
  }

  function member(client: KafkaClient, options: ConsumerOptions, topic: string, readFromStart = false): Member {
    const m = new Member(client, options, topic, readFromStart);
    members.push(m);
    return m;
  }

  async function stopAll(): Promise<void> {
    await Promise.all(members.splice(0).map((m) => m.consumer.stop()));
  }

  it('awaits onRevoke before the group hands partitions to a new member, and commits from it succeed', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { topic, groupId, client } = await setUp('revoke');
    try {
      const a = member(client, consumerOptions(groupId, topic), topic, true);
      let committed: TopicPartitionOffset[] = [];
      await a.start(async (self) => {
        if (self.owned.length === 0) return; // the first join: nothing to hand over
        await sleep(2_000); // stands in for a final checkpoint
        committed = self.fetchedOffsets();
        await self.consumer.commit(committed);
      });
      await waitFor('A to own every partition and fetch every record', () => a.owned.length === PARTITIONS && a.fetchedAll(), [a]);
      const aFirst = a.firstNonEmptyAssignment()!;
      assert.deepEqual(aFirst.partitions, [0, 1, 2, 3]);
      assert.ok(a.revokes.length >= 1 && a.revokes[0]!.start <= aFirst.at, 'onRevoke runs at the first join too, before the first assignment');
      assert.deepEqual(a.revokes[0]!.owned, []);

      const b = member(client, consumerOptions(groupId, topic), topic);
      await b.start();
      await waitFor('A and B to split the partitions', () => splitBetween([a, b]), [a, b]);

      const revoke = a.revokes.find((r) => r.start >= aFirst.at);
      assert.ok(revoke !== undefined, 'onRevoke ran after A was first assigned');
      assert.deepEqual(revoke.owned, [0, 1, 2, 3]);
      assert.ok(revoke.end !== undefined && revoke.end - revoke.start >= 1_900, `onRevoke took ${String((revoke.end ?? NaN) - revoke.start)} ms`);
      const bFirst = b.firstNonEmptyAssignment()!;
      assert.ok(bFirst.at >= revoke.end, `B was assigned ${String(bFirst.partitions)} at +${bFirst.at - revoke.start} ms, before A's onRevoke resolved at +${revoke.end - revoke.start} ms`);

      // The commit inside onRevoke reached Kafka (the old generation was still valid).
      assert.equal(committed.length, PARTITIONS);
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const byPartition = Object.fromEntries(offsets!.partitions.map((p) => [p.partition, p.offset]));
      const all = String(RECORDS_PER_PARTITION);
      assert.deepEqual(byPartition, { 0: all, 1: all, 2: all, 3: all });
    } finally {
      await stopAll();
    }
  });

  it('keeps the member in the group while onRevoke outlasts the session timeout', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { topic, groupId, client } = await setUp('revoke-long');
    const hookMs = 9_000; // > sessionTimeoutMs: without heartbeats meanwhile the coordinator would drop A after 6 s
    try {
      const a = member(client, consumerOptions(groupId, topic), topic);
      await a.start(async (self) => {
        if (self.owned.length > 0) await sleep(hookMs);
      });
      await waitFor('A to own every partition', () => a.owned.length === PARTITIONS, [a]);
      const aFirst = a.firstNonEmptyAssignment()!;

      const b = member(client, consumerOptions(groupId, topic), topic);
      await b.start();
      await waitFor('A and B to split the partitions', () => splitBetween([a, b]), [a, b]);

      const revoke = a.revokes.find((r) => r.start >= aFirst.at);
      assert.ok(revoke?.end !== undefined && revoke.end - revoke.start >= hookMs - 100);
      const bFirst = b.firstNonEmptyAssignment()!;
      // Had A been dropped, B would have got all four partitions about 6 s into the hook.
      assert.ok(bFirst.at >= revoke.end, `B was assigned ${String(bFirst.partitions)} at +${bFirst.at - revoke.start} ms, before A's onRevoke resolved at +${revoke.end - revoke.start} ms`);
      assert.notDeepEqual(bFirst.partitions, [0, 1, 2, 3]);
    } finally {
      await stopAll();
    }
  });

  it('an onRevoke that throws is logged and the rebalance still completes', { timeout: TEST_TIMEOUT_MS }, async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const { topic, groupId, client } = await setUp('revoke-throw', logger);
    try {
      const a = member(client, consumerOptions(groupId, topic), topic);
      await a.start(async (self) => {
        if (self.owned.length > 0) throw new Error('checkpoint failed on purpose');
      });
      await waitFor('A to own every partition', () => a.owned.length === PARTITIONS, [a]);
      const aFirst = a.firstNonEmptyAssignment()!;

      const b = member(client, consumerOptions(groupId, topic), topic);
      await b.start();
      await waitFor('A and B to split the partitions', () => splitBetween([a, b]), [a, b]);

      assert.ok(a.revokes.some((r) => r.start >= aFirst.at && r.end !== undefined), 'the throwing onRevoke ran');
      const logged = lines.map((line) => JSON.parse(line) as { msg?: string; err?: { message?: string } }).filter((entry) => entry.msg?.includes('onRevoke failed'));
      assert.ok(logged.length >= 1, 'the failure was logged');
      assert.equal(logged[0]!.err?.message, 'checkpoint failed on purpose');
      assert.equal(a.fatal, undefined);
      assert.equal(b.fatal, undefined);
    } finally {
      await stopAll();
    }
  });
});
