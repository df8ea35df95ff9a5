/**
 * The final checkpoint of a graceful stop when the HA store cannot confirm the lease (an outage
 * past the lease's local expiry): it waits for the lease to be confirmed again and completes,
 * rather than failing the stop; a lease lost meanwhile still fails it. Periodic checkpoints do not
 * wait (the next one retries). Likewise when its HA pointer cannot be published: the final
 * checkpoint tries again (the stop's timeout bounds it), a periodic one leaves it to the next.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LeaseLostError, LeaseUnconfirmedError } from '../../../../src/errors.js';
import type { CompletedCheckpoint } from '../../../../src/runtime/checkpoint-store.js';
import { LocalCatalog } from '../../../../src/iceberg/local-catalog.js';
import { LocalFileIO } from '../../../../src/iceberg/local-file-io.js';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { FileDeadLetterSink } from '../../../../src/runtime/dead-letters/file-dead-letter-sink.js';
import { JobRunner } from '../../../../src/runtime/execution/job-runner.js';
import { silentLogger } from '../../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import { committedAll, countsFlow, splitMap } from './support/counts-table.js';
import { InMemoryTopic, inMemorySplitSource } from './support/in-memory-split-group.js';

type LeaseState = 'held' | 'unconfirmed' | 'lost';

describe('graceful stop while the HA store is unreachable', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stop-lease-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A run over 3 splits of 100 records each, with a lease the test sets; resolves once everything is committed. */
  const started = async (name: string, onCheckpointDurable?: (checkpoint: CompletedCheckpoint) => Promise<void>) => {
    const lease = { state: 'held' as LeaseState, checks: 0 };
    const topic = new InMemoryTopic(3);
    topic.append(100);
    const catalog = new LocalCatalog({ warehouse: join(dir, name, 'warehouse'), fileIO: new LocalFileIO() });
    const metrics = new MetricsRegistry();
    const store = new LocalCheckpointStore(join(dir, name, 'checkpoints'));
    const runner = new JobRunner({
      flow: countsFlow(inMemorySplitSource(topic, undefined), catalog),
      store,
      checkpoint: { intervalMs: 20, retain: 3 },
      assertMayCommit: () => {
        lease.checks++;
        if (lease.state === 'unconfirmed') throw new LeaseUnconfirmedError('the HA store has not confirmed the lease past its local expiry');
        if (lease.state === 'lost') throw new LeaseLostError('another instance holds the lease');
      },
      metrics,
      logger: silentLogger(),
      deadLetters: new FileDeadLetterSink(join(dir, name, 'dead-letters.jsonl')),
      ...(onCheckpointDurable ? { onCheckpointDurable } : {}),
    });
    const done = runner.run();
    done.catch(() => undefined);
    await Promise.race([committedAll(catalog, topic), done]);
    const failedCheckpoints = async () => (await metrics.checkpointsFailed.get()).values.find((v) => v.labels.job === 'counts')?.value ?? 0;
    return { lease, runner, done, catalog, topic, failedCheckpoints, metrics, store };
  };

  const settledWithin = (promise: Promise<unknown>, ms: number) => Promise.race([promise.then(() => true, () => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

  it('waits for the lease to be confirmed again, then completes the final checkpoint and commits its progress', { timeout: 30_000 }, async () => {
    const { lease, runner, done, catalog, topic, failedCheckpoints, metrics, store } = await started('confirmed');
    const committedBefore = new Map([...(await splitMap(catalog))].map(([split, p]) => [split, p.position]));
    const completedBefore = (await metrics.lastCheckpointId.get()).values[0]?.value ?? 0;
    lease.state = 'unconfirmed';
    // Periodic checkpoints meanwhile fail at once rather than wait.
    const failedBefore = await failedCheckpoints();
    await new Promise((r) => setTimeout(r, 200));
    assert.ok((await failedCheckpoints()) > failedBefore, 'a periodic checkpoint under an unconfirmed lease failed');
    topic.append(20);
    const stopped = runner.stop();
    const checks = lease.checks;
    assert.equal(await settledWithin(done, 600), false, 'the run waits for the lease instead of ending');
    assert.ok(lease.checks > checks + 2, 'the final checkpoint keeps looking at the lease');
    lease.state = 'held';
    await stopped;
    const result = await done;
    assert.ok(result.lastCheckpoint !== undefined && result.lastCheckpoint > completedBefore, `the final checkpoint completed (${result.lastCheckpoint} after ${completedBefore})`);
    assert.equal((await store.load('counts', result.lastCheckpoint)).metadata.checkpointId, result.lastCheckpoint, 'its metadata is in the store');
    const map = await splitMap(catalog);
    for (const split of topic.splits) assert.ok(map.get(split)!.position >= committedBefore.get(split)!, `split ${split} did not go back`);
  });

  it('fails the stop when the lease is lost while it waits', { timeout: 30_000 }, async () => {
    const { lease, runner, done } = await started('lost');
    lease.state = 'unconfirmed';
    const stopped = runner.stop();
    stopped.catch(() => undefined);
    assert.equal(await settledWithin(done, 400), false, 'the run waits for the lease');
    lease.state = 'lost';
    await assert.rejects(done, (error: Error) => error instanceof LeaseLostError);
  });

  it('tries again to publish the final checkpoint\'s HA pointer until the store answers', { timeout: 30_000 }, async () => {
    const pointer = { failing: false, calls: 0, published: [] as number[] };
    const { runner, done, store } = await started('pointer', async (checkpoint) => {
      pointer.calls++;
      if (pointer.failing) throw new Error('DynamoDB request failed: connect ECONNREFUSED');
      pointer.published.push(checkpoint.metadata.checkpointId);
    });
    pointer.failing = true;
    await new Promise((r) => setTimeout(r, 200));
    const periodicCalls = pointer.calls;
    assert.ok(periodicCalls > 0, 'periodic checkpoints tried to publish meanwhile');
    const stopped = runner.stop();
    assert.equal(await settledWithin(done, 2_500), false, 'the run keeps trying instead of failing the stop');
    // Periodic checkpoints try once each; the final one every second until it succeeds.
    assert.ok(pointer.calls >= periodicCalls + 2, `the final checkpoint's pointer was tried again (${pointer.calls - periodicCalls} attempts)`);
    pointer.failing = false;
    await stopped;
    const result = await done;
    assert.ok(result.lastCheckpoint !== undefined, 'the final checkpoint completed');
    assert.equal(pointer.published.at(-1), result.lastCheckpoint, 'its pointer was published');
    assert.equal((await store.load('counts', result.lastCheckpoint)).metadata.checkpointId, result.lastCheckpoint, 'its metadata is in the store');
  });

  it('fails the stop when publishing the final checkpoint\'s pointer is refused by fencing', { timeout: 30_000 }, async () => {
    const pointer = { refused: false };
    const { runner, done } = await started('pointer-fenced', async () => {
      if (pointer.refused) throw new LeaseLostError('another instance holds the lease');
    });
    pointer.refused = true;
    const stopped = runner.stop();
    stopped.catch(() => undefined);
    assert.equal(await settledWithin(done, 5_000), true, 'a fenced instance does not try again');
    await assert.rejects(done);
  });
});
