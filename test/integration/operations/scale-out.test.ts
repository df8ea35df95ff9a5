/**
 * Scale-out: instances of `run.js jobs/orders --scale-out group` in one consumer group share a
 * 6-partition topic and commit to one S3 Tables table (moto), checkpointing to S3. While orders
 * are produced, instances leave gracefully, join, and crash (kill -9), forcing rebalances. Every
 * order is then produced a second time: the dedup state of each order id must have moved with
 * its partition for the table to stay free of duplicates. At the end pyiceberg must read every
 * valid order id exactly once, and the metrics must show the rebalances. Both scenarios run with
 * each Kafka client (KAFKA_CLIENT): the hand-over before a rebalance is client-specific code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { sampleOrder } from '../../../src/jobs/samples/orders-sample.js';
import { KAFKA_CLIENT_KINDS } from '../../../src/operators/kafka/kafka-config.js';
import { ensureServices, readIcebergTable, uniqueName, type ServiceEndpoints } from '../../helpers/services.js';
import { createBuckets, currentSnapshotSummary, producedRecords, readTopic } from '../jobs/support/job-e2e.js';
import { JobProcess, createTopic, freePort, httpGet, produceOrders, scrape, waitFor, type ProduceSummary } from './support/job-harness.js';

const PARTITIONS = 6;
const COUNT = 16_000;
const SEED = 23;
const RATE = 2_000;
const JOB = { job: 'orders' };

/** One instance of the job in the group, with its metrics port. */
interface Instance {
  readonly name: string;
  readonly port: number;
  readonly process: JobProcess;
}

/** The `streamline.splits` map of the table's current snapshot: split → committed position. */
async function committedPositions(tableBucketArn: string): Promise<{ positions: Map<string, number>; metadataLocation: string } | undefined> {
  const current = await currentSnapshotSummary(tableBucketArn, 'orders');
  if (current === undefined) return undefined;
  const raw = current.summary['streamline.splits'];
  const positions = new Map<string, number>();
  if (raw !== undefined) for (const [split, [position]] of Object.entries((JSON.parse(raw) as { splits: Record<string, [number, number]> }).splits)) positions.set(split, position);
  return { positions, metadataLocation: current.metadataLocation };
}

async function endOffsets(brokers: readonly string[], topic: string): Promise<Map<string, number>> {
  const admin = new kafkajs.Kafka({ clientId: 'scale-out-test', brokers: [...brokers], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [`${topic}:${o.partition}`, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

for (const client of KAFKA_CLIENT_KINDS) describe(`scale-out (${client}): instances in one consumer group share the partitions, exactly once`, () => {
  let endpoints: ServiceEndpoints;
  let buckets: { tableBucketArn: string; checkpointUri: string };
  let topic: string;
  let groupId: string;
  const all: Instance[] = [];

  before(async () => {
    endpoints = await ensureServices({ kafka: true, moto: true });
  });

  /** A fresh topic, consumer group, table bucket and checkpoint bucket for one test. */
  const deploy = async (prefix: string) => {
    topic = uniqueName(`${prefix}-`);
    groupId = uniqueName(`${prefix}-grp-`);
    buckets = await createBuckets();
    await createTopic(endpoints.kafkaBrokers, topic, PARTITIONS);
  };

  after(async () => {
    for (const instance of all) await instance.process.kill();
  });

  const env = (name: string, port: number): Record<string, string> => ({
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    KAFKA_CLIENT: client,
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: groupId,
    KAFKA_DLQ_TOPIC: `${topic}.dlq`,
    // A crashed instance's partitions move after 6 s (the broker's minimum session timeout).
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_REBALANCE_TIMEOUT_MS: '20000',
    SCALE_OUT: 'group',
    TABLE_BUCKET_ARN: buckets.tableBucketArn,
    CHECKPOINT_URI: buckets.checkpointUri,
    CHECKPOINT_INTERVAL_MS: '1000',
    AWS_ENDPOINT_URL: endpoints.awsEndpoint,
    AWS_REGION: endpoints.region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    METRICS_PORT: String(port),
    STOP_TIMEOUT_MS: '30000',
    STREAMLINE_WORK_DIR: `/tmp/${groupId}-${name}`,
    LOG_LEVEL: 'info',
    // Passed on so that PARALLELISM=1 can be tested (and the branch tested before main's fix of group-mode restores of parallel subtasks).
    ...(process.env.PARALLELISM === undefined ? {} : { PARALLELISM: process.env.PARALLELISM }),
  });

  const start = async (name: string): Promise<Instance> => {
    const port = await freePort();
    const instance = { name, port, process: new JobProcess(['jobs/orders'], env(name, port)) };
    all.push(instance);
    return instance;
  };

  /**
   * Runs a scenario; when it fails, the error also carries the last log lines of every instance it
   * started, since a rebalance that goes wrong is only explained by what the instances logged.
   */
  const withInstanceLogs = async (scenario: () => Promise<void>): Promise<void> => {
    const first = all.length;
    try {
      await scenario();
    } catch (error) {
      const logs = all.slice(first).map((i) => `--- ${i.name} (exit ${i.process.child.exitCode ?? i.process.child.signalCode ?? 'none yet'}) ---\n${i.process.tail(25)}`);
      const message = error instanceof Error ? error.message : String(error);
      throw Object.assign(new Error(`${message}\n${logs.join('\n')}`), { cause: error });
    }
  };

  const alive = () => all.filter((i) => i.process.child.exitCode === null && i.process.child.signalCode === null);

  /** Every live instance is ready and together they own every partition once. */
  const settled = (what: string) =>
    waitFor(what, 90_000, async () => {
      let owned = 0;
      for (const instance of alive()) {
        if ((await httpGet(instance.port, '/readyz')).status !== 200) return undefined;
        owned += (await scrape(instance.port))?.sum('streamline_group_assigned_splits', JOB) ?? 0;
      }
      return owned === PARTITIONS ? true : undefined;
    }, 250);

  const stop = async (instance: Instance) => {
    instance.process.signal('SIGTERM');
    const exit = await instance.process.exit(60_000);
    assert.equal(exit.code, 0, `${instance.name} stops gracefully (exit 0):\n${instance.process.tail()}`);
  };

  /** The table through pyiceberg holds every valid order id of `summary`'s production exactly once. */
  const assertEveryOrderOnce = async (summary: ProduceSummary, metadataLocation: string) => {
    const records = producedRecords(sampleOrder, summary.produced, SEED) as { order_id: string }[];
    const bad = new Set(summary.badIds ?? []);
    const expected = new Set(records.flatMap((r, index) => (bad.has(index) ? [] : [r.order_id])));
    const table = await readIcebergTable(metadataLocation, { column: 'order_id' });
    const ids = (table.column?.values ?? []).map(String);
    const duplicates = ids.length - new Set(ids).size;
    assert.equal(duplicates, 0, `no order id twice (the table has ${ids.length} rows for ${expected.size} orders)`);
    assert.deepEqual([...new Set(ids)].sort(), [...expected].sort(), 'exactly the valid order ids');
  };

  /** Waits until the table's split map has every partition at the topic's end offset. */
  const committedToEnd = async () => {
    const ends = await endOffsets(endpoints.kafkaBrokers, topic);
    return waitFor('the table to hold every partition up to its end offset', 120_000, async () => {
      const now = await committedPositions(buckets.tableBucketArn);
      return now !== undefined && [...ends].every(([split, end]) => now.positions.get(split) === end) ? now : undefined;
    }, 500);
  };

  it('start, stop, crash and join instances while producing; every order is in the table exactly once', () => withInstanceLogs(async () => {
    await deploy('scale-out');
    const a = await start('a');
    const b = await start('b');
    const c = await start('c');
    await settled('three instances sharing the 6 partitions');
    for (const instance of [a, b, c]) {
      const s = (await scrape(instance.port))!;
      assert.equal(s.sum('streamline_group_assigned_splits', JOB), 2, `${instance.name} owns 2 of 6 partitions`);
    }
    const assignmentsOfA = async () => (await scrape(a.port))?.sum('streamline_group_assignments_total', JOB) ?? 0;
    const beforeRounds = await assignmentsOfA();

    // Round 1: orders arrive while B leaves gracefully and D joins.
    let production: Promise<ProduceSummary> = produceOrders(endpoints.kafkaBrokers, topic, { count: COUNT, seed: SEED, badFraction: 0.02, rate: RATE, partitions: PARTITIONS, keyBy: 'record', client });
    production.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 2_500));
    await stop(b);
    const d = await start('d');
    const first = await production;
    await settled('a, c and d sharing the partitions');
    const afterRound1 = await assignmentsOfA();
    assert.ok(afterRound1 > beforeRounds, 'b leaving and d joining rebalanced the group');

    // Round 2: the same orders again (same keys, so the same partitions) while C crashes and E joins.
    production = produceOrders(endpoints.kafkaBrokers, topic, { count: COUNT, seed: SEED, badFraction: 0.02, rate: RATE, partitions: PARTITIONS, keyBy: 'record', client });
    production.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 2_500));
    c.process.signal('SIGKILL');
    await c.process.exited;
    const e = await start('e');
    const second = await production;
    assert.deepEqual(second, first, 'the second round replays the first');
    await settled('a, d and e sharing the partitions after the crash');
    assert.ok((await assignmentsOfA()) > afterRound1, 'c crashing and e joining rebalanced the group');

    // Every record of the topic is committed: the table's split map reaches the end offsets.
    const committed = await committedToEnd();
    assert.equal(committed.positions.size, PARTITIONS);

    // The table through pyiceberg: every valid order id exactly once, although each was produced twice.
    await assertEveryOrderOnce(first, committed.metadataLocation);

    // The metrics of the instances left: together they own every partition; keys followed the partitioning.
    const survivors = [a, d, e];
    const scrapes = await Promise.all(survivors.map(async (i) => ({ i, s: (await scrape(i.port))! })));
    for (const { i, s } of scrapes) {
      assert.ok((s.sum('streamline_group_assignments_total', JOB) ?? 0) >= 1, `${i.name} received assignments`);
      assert.equal(s.sum('streamline_state_split_conflicts_total', JOB) ?? 0, 0, `${i.name}: keys follow the partitioning`);
    }
    assert.equal(scrapes.reduce((n, { s }) => n + (s.sum('streamline_group_assigned_splits', JOB) ?? 0), 0), PARTITIONS);
    assert.ok(scrapes.every(({ s }) => (s.sum('streamline_restores_total', JOB) ?? 0) > 0), 'every instance restored partitions from what the table names');
    for (const instance of survivors) await stop(instance);

    // Malformed records went to the dead-letter topic (at least once: a crash replays some), every one of them.
    const letters = await readTopic(endpoints, `${topic}.dlq`);
    const origins = new Set(letters.map((m) => `${m.headers?.['streamline.dlq.source.partition']?.toString()}:${m.headers?.['streamline.dlq.source.offset']?.toString()}`));
    assert.equal(origins.size, 2 * first.bad, 'one dead letter per malformed record of both rounds');
  }));

  it('an instance paused past its session timeout (a zombie) is refused when it wakes up; exactly once', () => withInstanceLogs(async () => {
    await deploy('scale-out-zombie');
    const a = await start('a');
    const b = await start('b');
    await settled('two instances sharing the 6 partitions');
    const production = produceOrders(endpoints.kafkaBrokers, topic, { count: 12_000, seed: SEED, badFraction: 0.02, rate: RATE, partitions: PARTITIONS, keyBy: 'record', client });
    production.catch(() => undefined);
    // a freezes with records read and not committed (it reads while orders keep coming, and its
    // checkpoints run every second); b takes every partition over after the session timeout and commits.
    await waitFor('a to read orders', 60_000, async () => (((await scrape(a.port))?.sum('streamline_records_in_total', JOB) ?? 0) > 0 ? true : undefined), 100);
    await new Promise((r) => setTimeout(r, 500));
    a.process.signal('SIGSTOP');
    // Worst case: a froze inside a rebalance, which the broker holds for the rebalance timeout (20 s)
    // before the session timeout (6 s) evicts it, and the next rebalance runs b's hand-over (up to
    // 0.75 × 20 s); 90 s leaves room for a loaded machine.
    await waitFor('b to own every partition', 90_000, async () => ((await scrape(b.port))?.sum('streamline_group_assigned_splits', JOB) === PARTITIONS ? true : undefined), 250);
    await new Promise((r) => setTimeout(r, 2_000));
    a.process.signal('SIGCONT');
    const summary = await production;
    await settled('a and b sharing the partitions again');
    const committed = await committedToEnd();

    // Both claimed the same splits; whichever publishes progress for them second is refused and
    // restarts its run from what the table holds. Usually that is the zombie; on a loaded machine b
    // may not have committed yet when a wakes, and then b is the one refused.
    const refusedOf = async (i: Instance) => {
      const s = (await scrape(i.port))!;
      return (s.sum('streamline_fenced_commits_total', { job: 'orders', kind: 'iceberg' }) ?? 0) + (s.sum('streamline_group_run_restarts_total', JOB) ?? 0);
    };
    const refused = { a: await refusedOf(a), b: await refusedOf(b) };
    assert.ok(refused.a + refused.b > 0, `the zombie or the instance that took its partitions over was refused (${JSON.stringify(refused)})`);
    for (const instance of [a, b]) await stop(instance);
    await assertEveryOrderOnce(summary, committed.metadataLocation);
  }));
});
