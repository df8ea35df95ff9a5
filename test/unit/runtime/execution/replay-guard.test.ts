/**
 * Standby restores must not start behind what the table holds: the verdicts of the replay guard,
 * and a standby job on a real local Iceberg table restarted from an older checkpoint — chosen
 * by a stale HA pointer, asked for explicitly, or left as newest after the one the table names
 * lost its `_metadata`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalCatalog } from '../../../../src/iceberg/local-catalog.js';
import { LocalFileIO } from '../../../../src/iceberg/local-file-io.js';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { FileDeadLetterSink } from '../../../../src/runtime/dead-letters/file-dead-letter-sink.js';
import { RestoreError } from '../../../../src/errors.js';
import { JobRunner, type RestoreSelection } from '../../../../src/runtime/execution/job-runner.js';
import { checkRestoreAgainstOutput } from '../../../../src/runtime/execution/replay-guard.js';
import { silentLogger } from '../../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import type { CommittedSplit } from '../../../../src/runtime/sink.js';
import { assertExactlyOnce, committedAll, countsFlow, splitMap } from './support/counts-table.js';
import { InMemoryTopic, inMemorySplitSource } from './support/in-memory-split-group.js';

const at = (position: number, scope: string, checkpointId: number): CommittedSplit => ({ position, checkpoint: { scope, checkpointId } });

describe('replay guard verdicts', () => {
  const committed = new Map([
    ['t:0', at(100, 'job', 7)],
    ['t:1', at(50, 'job', 7)],
  ]);

  it('a restore point at or beyond every committed position is fine', () => {
    const verdict = checkRestoreAgainstOutput({ scope: 'job', restored: { checkpointId: 7, positions: { 't:0': 100, 't:1': 60 } }, committed, explicit: false });
    assert.deepEqual(verdict, { kind: 'ok' });
  });

  it('behind a newer checkpoint of the same scope that the table names: restore that one', () => {
    const verdict = checkRestoreAgainstOutput({ scope: 'job', restored: { checkpointId: 5, positions: { 't:0': 80, 't:1': 50 } }, committed, explicit: false });
    assert.deepEqual(verdict, { kind: 'use-newer', checkpointId: 7, splits: ['t:0'] });
  });

  it('an explicitly chosen older checkpoint is refused, naming the offsets and what to do', () => {
    const verdict = checkRestoreAgainstOutput({ scope: 'job', restored: { checkpointId: 5, positions: { 't:0': 80 } }, committed, explicit: true });
    assert.equal(verdict.kind, 'refuse');
    assert.match(verdict.kind === 'refuse' ? verdict.message : '', /checkpoint 5 would read again records the table already holds \(t:0 up to offset 100, t:1 up to offset 50\).*job\/7.*FROM_CHECKPOINT=none/);
  });

  it('no checkpoint at all while the table holds records: restore the one the table names (refused when it names several)', () => {
    const verdict = checkRestoreAgainstOutput({ scope: 'job', restored: undefined, committed, explicit: false });
    assert.deepEqual(verdict, { kind: 'use-newer', checkpointId: 7, splits: ['t:0', 't:1'] }, 'the checkpoint the table names is the way back');
    const other = checkRestoreAgainstOutput({ scope: 'job', restored: undefined, committed: new Map([['t:0', at(10, 'job', 3)], ['t:1', at(5, 'job', 4)]]), explicit: false });
    assert.equal(other.kind, 'refuse', 'two different checkpoints named: no single one to restore');
  });

  it('progress committed by group-mode instances: refused, pointing at SCALE_OUT=group', () => {
    const verdict = checkRestoreAgainstOutput({ scope: 'job', restored: { checkpointId: 9, positions: { 't:0': 10 } }, committed: new Map([['t:0', at(100, 'job.i-1a2b', 3)]]), explicit: false });
    assert.equal(verdict.kind, 'refuse');
    assert.match(verdict.kind === 'refuse' ? verdict.message : '', /SCALE_OUT=group/);
  });
});

describe('a standby job restarted behind what its table holds', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'replay-guard-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const setUp = (name: string) => {
    const catalog = new LocalCatalog({ warehouse: join(dir, name, 'warehouse'), fileIO: new LocalFileIO() });
    const store = new LocalCheckpointStore(join(dir, name, 'checkpoints'));
    const topic = new InMemoryTopic(3);
    const runner = (restoreFrom: RestoreSelection = 'latest', haLatest?: number) =>
      new JobRunner({
        flow: countsFlow(inMemorySplitSource(topic, undefined), catalog),
        store,
        checkpoint: { intervalMs: 20, retain: 50 },
        restoreFrom,
        ...(haLatest === undefined ? {} : { haPointer: { uri: 'test://ha', latestCheckpointId: async () => haLatest } }),
        metrics: new MetricsRegistry(),
        logger: silentLogger(),
        deadLetters: new FileDeadLetterSink(join(dir, name, 'dead-letters.jsonl')),
      });
    /** Runs until the table holds the whole topic, then stops gracefully. */
    const runToEnd = async (restoreFrom: RestoreSelection = 'latest', haLatest?: number) => {
      const job = runner(restoreFrom, haLatest);
      const done = job.run();
      done.catch(() => undefined);
      await committedAll(catalog, topic);
      await job.stop();
      return done;
    };
    return { catalog, store, topic, runner, runToEnd };
  };

  it('a stale HA pointer naming an older checkpoint: the one the table names is restored; exactly once', { timeout: 60_000 }, async () => {
    const { catalog, topic, runToEnd } = setUp('pointer');
    topic.append(150);
    const first = await runToEnd();
    topic.append(90);
    await runToEnd();
    const named = [...(await splitMap(catalog)).values()][0]!.checkpoint.checkpointId;
    assert.ok(first.lastCheckpoint! < named);
    topic.append(60);
    const third = await runToEnd('latest', first.lastCheckpoint);
    assert.equal(third.restoredFrom, named, 'restored the checkpoint the table names, not the pointer\'s');
    await assertExactlyOnce(catalog, topic);
  });

  it('an explicitly chosen older checkpoint is refused before anything is read', { timeout: 60_000 }, async () => {
    const { topic, runner, runToEnd } = setUp('explicit');
    topic.append(150);
    const first = await runToEnd();
    topic.append(90);
    await runToEnd();
    await assert.rejects(runner(first.lastCheckpoint!).run(), (error: unknown) => error instanceof RestoreError && /would read again records the table already holds/.test(error.message));
  });

  it('the checkpoint the table names lost its _metadata: refused instead of restoring the one before it', { timeout: 60_000 }, async () => {
    const { catalog, store, topic, runner, runToEnd } = setUp('damaged');
    topic.append(150);
    await runToEnd();
    topic.append(90);
    const second = await runToEnd();
    const named = [...(await splitMap(catalog)).values()][0]!.checkpoint.checkpointId;
    // The named one and any newer (a final checkpoint without new rows commits nothing) lose their _metadata.
    for (let id = named; id <= second.lastCheckpoint!; id++) await rm(join(dir, 'damaged', 'checkpoints', 'counts', `chk-${id}`, '_metadata'), { force: true });
    assert.ok((await store.listCompleted('counts')).every((c) => c.metadata.checkpointId < named), 'only older checkpoints are readable');
    assert.ok((await store.listCompleted('counts')).length > 0, 'older checkpoints are still there');
    await assert.rejects(runner().run(), (error: unknown) => error instanceof RestoreError && new RegExp(`checkpoint ${named} of counts, which cannot be read`).test(error.message));
  });
});
