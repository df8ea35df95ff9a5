import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { LocalCatalog } from '../../../../src/iceberg/local-catalog.js';
import { LocalFileIO } from '../../../../src/iceberg/local-file-io.js';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import type { CheckpointMetadata, CheckpointStore } from '../../../../src/runtime/checkpoint-store.js';
import { FileDeadLetterSink } from '../../../../src/runtime/dead-letters/file-dead-letter-sink.js';
import { SplitGroupRunner } from '../../../../src/runtime/execution/split-group-runner.js';
import { silentLogger } from '../../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import { assertExactlyOnce as exactlyOnce, committedAll as committed, countsFlow } from './support/counts-table.js';
import { FakeGroupCoordinator, InMemoryTopic, inMemorySplitSource } from './support/in-memory-split-group.js';

describe('SplitGroupRunner: splits move between instances exactly once, with their state', () => {
  let dir: string;
  let catalog: LocalCatalog;
  let store: LocalCheckpointStore;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'split-group-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  // A test that fails half-way leaves its instances running; stopping them lets the file end.
  const running: SplitGroupRunner[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((runner) => runner.stop().catch(() => undefined)));
  });

  const setUp = (name: string) => {
    catalog = new LocalCatalog({ warehouse: join(dir, name, 'warehouse'), fileIO: new LocalFileIO() });
    store = new LocalCheckpointStore(join(dir, name, 'checkpoints'));
    return { topic: new InMemoryTopic(4), coordinator: new FakeGroupCoordinator() };
  };

  const instance = (name: string, topic: InMemoryTopic, coordinator: FakeGroupCoordinator, checkpoints: CheckpointStore = store) => {
    const metrics = new MetricsRegistry();
    const flow = countsFlow(inMemorySplitSource(topic, coordinator.member(name)), catalog);
    const runner = new SplitGroupRunner({
      flow,
      store: checkpoints,
      checkpoint: { intervalMs: 20, retain: 2 },
      metrics,
      logger: silentLogger(),
      deadLetters: new FileDeadLetterSink(join(dir, `${name}-dead-letters.jsonl`)),
      instanceId: name,
      retryDelayMs: 50,
    });
    running.push(runner);
    const done = runner.run();
    done.catch(() => undefined);
    return { runner, done, metrics };
  };

  const committedAll = (topic: InMemoryTopic) => committed(catalog, topic);
  const assertExactlyOnce = (topic: InMemoryTopic) => exactlyOnce(catalog, topic);

  it('hands splits over on every rebalance: the next owner continues each split and its keyed state', { timeout: 60_000 }, async () => {
    const { topic, coordinator } = setUp('hand-over');
    const a = instance('a', topic, coordinator);
    const b = instance('b', topic, coordinator);
    const all = topic.splits;
    const plans = [
      { a: all, b: [] },
      { a: [all[0]!, all[1]!], b: [all[2]!, all[3]!] },
      { a: [], b: all },
      { a: [all[3]!], b: [all[0]!, all[1]!, all[2]!] },
      { a: all, b: [] },
    ];
    for (const plan of plans) {
      await coordinator.rebalance(plan);
      topic.append(120);
      await committedAll(topic);
    }
    await a.runner.stop();
    await b.runner.stop();
    await Promise.all([a.done, b.done]);
    await assertExactlyOnce(topic);
    assert.ok(coordinator.member('a').left && coordinator.member('b').left, 'both left the group when stopped');
    const restores = async (m: MetricsRegistry) => (await m.restores.get()).values.reduce((n, v) => n + v.value, 0);
    assert.ok((await restores(a.metrics)) >= 2 && (await restores(b.metrics)) >= 2, 'each instance restored splits from the table');
  });

  it('a zombie that missed a rebalance is refused when it commits splits another instance took; it restarts from the table', { timeout: 60_000 }, async () => {
    const { topic, coordinator } = setUp('zombie');
    const a = instance('a', topic, coordinator);
    const b = instance('b', topic, coordinator);
    await coordinator.rebalance({ a: topic.splits, b: [] });
    topic.append(100);
    await committedAll(topic);

    // b takes everything while a never hears of it: both read and try to commit the same splits.
    await coordinator.rebalance({ b: topic.splits }, ['a']);
    const fenced = async (m: MetricsRegistry) => (await m.fencedCommits.get()).values.find((v) => v.labels.kind === 'iceberg')?.value ?? 0;
    const refusals = async () => (await fenced(a.metrics)) + (await fenced(b.metrics));
    // A refusal needs both to commit the same splits between two appends; on a loaded machine one
    // of them may sit a few rounds out, so rounds go on (up to 40) until one is refused.
    for (let round = 0; round < 5 || ((await refusals()) === 0 && round < 40); round++) {
      topic.append(40);
      await committedAll(topic);
    }
    const restarts = async (m: MetricsRegistry) => (await m.runRestarts.get()).values.reduce((n, v) => n + v.value, 0);
    assert.ok((await refusals()) > 0, 'the loser of each race is refused');
    // The refused run restarts once it has closed; give it a moment rather than racing it.
    const deadline = Date.now() + 10_000;
    while ((await restarts(a.metrics)) + (await restarts(b.metrics)) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok((await restarts(a.metrics)) + (await restarts(b.metrics)) > 0, 'a refused run starts again from the table');

    // a finally learns it lost the splits.
    await coordinator.rebalance({ a: [], b: topic.splits });
    topic.append(100);
    await committedAll(topic);
    await a.runner.stop();
    await b.runner.stop();
    await Promise.all([a.done, b.done]);
    await assertExactlyOnce(topic);
  });

  it('a hand-over that does not finish in time aborts the run, not the instance: it runs its next assignment', { timeout: 60_000 }, async () => {
    const { topic, coordinator } = setUp('hand-over-timeout');
    // a's checkpoint store stops answering on request (a hung S3 request, ended by its 1.5 s
    // request timeout): its final checkpoint cannot complete within the hand-over's patience.
    let hang = false;
    let hung = 0;
    const stalling: CheckpointStore = Object.assign(Object.create(store) as CheckpointStore, {
      commitMetadata: async (metadata: CheckpointMetadata) => {
        if (hang) {
          hung++;
          await new Promise((resolve) => setTimeout(resolve, 1_500));
          throw new Error('request timed out after 1500 ms');
        }
        return store.commitMetadata(metadata);
      },
    });
    const a = instance('a', topic, coordinator, stalling);
    const b = instance('b', topic, coordinator);
    coordinator.member('a').handOverTimeoutMs = 300;
    await coordinator.rebalance({ a: topic.splits, b: [] });
    topic.append(100);
    await committedAll(topic);

    hang = true;
    topic.append(60); // read by a, never committed by it
    const started = performance.now();
    await coordinator.rebalance({ a: [], b: topic.splits });
    const handOverMs = performance.now() - started;
    assert.ok(handOverMs >= 300 && handOverMs < 5_000, `the rebalance waited for a's hand-over up to its patience: ${Math.round(handOverMs)} ms`);
    assert.ok(hung > 0, 'a\'s final checkpoint was the one held up');
    // b continues every split from the last commit (a's uncommitted 60 are read again by b).
    topic.append(40);
    await committedAll(topic);
    const settled = await Promise.race([a.done.then(() => 'ended', (e: unknown) => `failed: ${String(e)}`), new Promise((r) => setTimeout(() => r('running'), 200))]);
    assert.equal(settled, 'running', 'the instance whose hand-over timed out is still in the group');

    // Its store answers again; the splits come back to it and it carries on from b's commits.
    hang = false;
    await coordinator.rebalance({ a: topic.splits, b: [] });
    topic.append(80);
    await committedAll(topic);
    await a.runner.stop();
    await b.runner.stop();
    await Promise.all([a.done, b.done]);
    await assertExactlyOnce(topic);
  });
});
