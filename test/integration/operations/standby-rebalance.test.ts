/**
 * A standby-mode job in parallel subtasks when its consumer group rebalances under it: another
 * member joins the group (as a frozen previous instance that wakes up does) and leaves again (as
 * it does once fenced, or as a consumer restarted after a broker outage rejoins). The group hands
 * the job part of its partitions and then all of them; the job must keep reading each one from
 * where it stands: every valid order in the table once, nothing re-read, nothing skipped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { ensureServices } from '../../helpers/services.js';
import { jobArgs, jobEnvironment, newDeployment } from './support/job-env.js';
import { JobProcess, committedOffsets, createTopic, expectedOrderIds, freePort, httpGet, produceOrders, readTopic, scrape, tableOrderIds, waitFor } from './support/job-harness.js';

const PARTITIONS = 4;

async function endOffsets(brokers: readonly string[], topic: string): Promise<Map<number, number>> {
  const admin = new kafkajs.Kafka({ clientId: 'rebalance-offsets', brokers: [...brokers], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}
const JOB = { job: 'orders' };

describe('standby job in parallel subtasks across consumer-group rebalances', () => {
  let brokers: string[];
  const running = new Set<JobProcess>();

  before(async () => {
    brokers = (await ensureServices({ kafka: true })).kafkaBrokers;
  });

  after(async () => {
    for (const job of running) await job.kill();
  });

  it('another member joins and leaves the group: the job reads on from where each partition stands, exactly once', async () => {
    const d = newDeployment(brokers, 'opsx-rebalance');
    await createTopic(brokers, d.topic, PARTITIONS);
    const first = await produceOrders(brokers, d.topic, { count: 4_000, seed: 41, partitions: PARTITIONS });

    const port = await freePort();
    const job = new JobProcess(jobArgs(port), { ...jobEnvironment(d), PARALLELISM: '2', KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_CLIENT: 'kafkajs' });
    running.add(job);
    const alive = () => {
      if (job.child.exitCode !== null) throw new Error(`job exited early (${job.child.exitCode}):\n${job.tail()}`);
    };
    const caughtUp = async (): Promise<true | undefined> => {
      alive();
      const ends = await endOffsets(brokers, d.topic);
      const committed = await committedOffsets(brokers, d.groupId, d.topic);
      return [...ends].every(([p, end]) => committed.get(p) === end) ? true : undefined;
    };
    await waitFor('the job to be ready', 120_000, async () => {
      alive();
      return (await httpGet(port, '/readyz')).status === 200 ? true : undefined;
    });
    await waitFor('the first records committed', 120_000, caughtUp, 500);

    // Another member of the job's group: it takes some partitions and commits nothing. It is a
    // kafkajs consumer, and so is the job's (a group's members must speak one assignment protocol);
    // the code under test sits above the client (KafkaSplitGroup, the parallel runner).
    const intruder = new kafkajs.Kafka({ clientId: 'rebalance-intruder', brokers, logLevel: kafkajs.logLevel.NOTHING }).consumer({ groupId: d.groupId, sessionTimeout: 6_000, heartbeatInterval: 500 });
    let intruderPartitions = 0;
    intruder.on(intruder.events.GROUP_JOIN, (event) => (intruderPartitions = Object.values(event.payload.memberAssignment).flat().length));
    await intruder.connect();
    await intruder.subscribe({ topics: [d.topic] });
    await intruder.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
    await waitFor('the other member to be assigned partitions', 60_000, async () => (alive(), intruderPartitions > 0 ? true : undefined));
    const checkpointsWhileShared = (await scrape(port))?.sum('streamline_checkpoints_completed_total', JOB) ?? 0;
    const middle = await produceOrders(brokers, d.topic, { count: 2_000, seed: 42, partitions: PARTITIONS });
    await waitFor('a checkpoint while the group is shared', 60_000, async () => {
      alive();
      return ((await scrape(port))?.sum('streamline_checkpoints_completed_total', JOB) ?? 0) > checkpointsWhileShared + 1 ? true : undefined;
    });
    await intruder.disconnect();

    // The job owns every partition again: what was produced meanwhile and after must all arrive.
    const last = await produceOrders(brokers, d.topic, { count: 4_000, seed: 43, partitions: PARTITIONS });
    await waitFor('every record committed after the rebalances', 120_000, caughtUp, 500);
    job.signal('SIGTERM');
    const exit = await job.exit(40_000);
    assert.equal(exit.code, 0, job.tail());
    assert.match(job.tail(200), /the consumer group rebalanced/, 'the job saw the rebalances');

    const records = await readTopic(brokers, d.topic);
    assert.equal(records.length, first.produced + middle.produced + last.produced);
    const expected = expectedOrderIds(records, []);
    const table = await tableOrderIds(d.warehouse);
    assert.equal(table.ids.length, new Set(table.ids).size, 'no order twice in the table');
    assert.deepEqual([...table.ids].sort(), [...expected].sort(), 'every valid order of the three productions in the table');
  });
});
