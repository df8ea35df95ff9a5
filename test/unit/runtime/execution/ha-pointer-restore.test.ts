/**
 * A standby run with an HA store whose pointer belongs to the run's checkpoint location: a run
 * in another location does not see it; a pointer naming a checkpoint that was deleted stops the
 * start with the way out, and that way out (FROM_CHECKPOINT=none) numbers new checkpoints after
 * the pointer, so they can be published.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RestoreError } from '../../../../src/errors.js';
import { LocalCatalog } from '../../../../src/iceberg/local-catalog.js';
import { LocalFileIO } from '../../../../src/iceberg/local-file-io.js';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { FileDeadLetterSink } from '../../../../src/runtime/dead-letters/file-dead-letter-sink.js';
import { JobRunner, type RestoreSelection } from '../../../../src/runtime/execution/job-runner.js';
import { LocalHaStore } from '../../../../src/runtime/ha/local-ha-store.js';
import { silentLogger } from '../../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import { committedAll, countsFlow } from './support/counts-table.js';
import { InMemoryTopic, inMemorySplitSource } from './support/in-memory-split-group.js';

describe('HA pointer per checkpoint location', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ha-pointer-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** One deployment: an HA store shared by every run, a table per name, checkpoints per location. */
  const deployment = async (name: string) => {
    const ha = new LocalHaStore(join(dir, name, 'ha'));
    const lease = (await ha.tryAcquire('counts', 'test-owner', 60_000))!;
    const topic = new InMemoryTopic(3);
    const run = async (options: { location: string; table: string; restoreFrom?: RestoreSelection }) => {
      const store = new LocalCheckpointStore(join(dir, name, options.location));
      const catalog = new LocalCatalog({ warehouse: join(dir, name, options.table), fileIO: new LocalFileIO() });
      const published: number[] = [];
      const runner = new JobRunner({
        flow: countsFlow(inMemorySplitSource(topic, undefined), catalog),
        store,
        checkpoint: { intervalMs: 20, retain: 3 },
        restoreFrom: options.restoreFrom ?? 'latest',
        haPointer: { uri: ha.uri, latestCheckpointId: async () => (await ha.readPointer('counts', store.uri))?.checkpointId },
        onCheckpointDurable: async (checkpoint) => {
          await ha.publishPointer(lease, store.uri, { checkpointId: checkpoint.metadata.checkpointId, location: checkpoint.location });
          published.push(checkpoint.metadata.checkpointId);
        },
        metrics: new MetricsRegistry(),
        logger: silentLogger(),
        deadLetters: new FileDeadLetterSink(join(dir, name, 'dead-letters.jsonl')),
      });
      const done = runner.run();
      done.catch(() => undefined);
      await Promise.race([committedAll(catalog, topic), done]);
      await runner.stop();
      return { result: await done, published, store };
    };
    return { ha, topic, run };
  };

  it('a second checkpoint location in the same work dir starts its own pointer at checkpoint 1', { timeout: 60_000 }, async () => {
    const { ha, topic, run } = await deployment('two-locations');
    topic.append(120);
    const first = await run({ location: 'checkpoints-a', table: 'warehouse-a' });
    assert.ok(first.published.length > 0);
    const second = await run({ location: 'checkpoints-b', table: 'warehouse-b' });
    assert.equal(second.result.restoredFrom, undefined, 'nothing of location a is restored in location b');
    assert.equal(second.published[0], 1, 'location b numbers its checkpoints from 1 and publishes them');
    assert.equal((await ha.readPointer('counts', first.store.uri))?.checkpointId, first.published.at(-1), 'the pointer of location a is untouched');
    assert.equal((await ha.readPointer('counts', second.store.uri))?.checkpointId, second.published.at(-1));
  });

  it('a pointer naming deleted checkpoints stops the start with the way out; FROM_CHECKPOINT=none then continues the numbering', { timeout: 60_000 }, async () => {
    const { ha, topic, run } = await deployment('deleted');
    topic.append(120);
    const first = await run({ location: 'checkpoints', table: 'warehouse-1' });
    const pointed = first.published.at(-1)!;
    await rm(join(dir, 'deleted', 'checkpoints'), { recursive: true, force: true });

    await assert.rejects(run({ location: 'checkpoints', table: 'warehouse-2' }), (error: unknown) => {
      assert.ok(error instanceof RestoreError, String(error));
      assert.match(error.message, new RegExp(`names checkpoint ${pointed} of job 'counts' as the latest in file://.*/deleted/checkpoints, but there are no checkpoints of the job there`));
      assert.match(error.message, /FROM_CHECKPOINT=none/);
      return true;
    });

    const over = await run({ location: 'checkpoints', table: 'warehouse-2', restoreFrom: 'none' });
    assert.equal(over.result.restoredFrom, undefined);
    assert.equal(over.published[0], pointed + 1, 'new checkpoints are numbered after the pointer');
    assert.equal((await ha.readPointer('counts', over.store.uri))?.checkpointId, over.published.at(-1));
  });
});
