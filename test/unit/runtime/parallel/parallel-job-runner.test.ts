/**
 * A job run by parallel subtasks in worker threads: every record lands once, keyed counts
 * continue without a gap, across a subtask that dies and restarts with other parallelism.
 * The output is read from the committed files and checked against the generated ids.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalCheckpointStore } from '../../../../src/runtime/checkpoint/local-checkpoint-store.js';
import { FileDeadLetterSink } from '../../../../src/runtime/dead-letters/file-dead-letter-sink.js';
import type { Job } from '../../../../src/runtime/job.js';
import { silentLogger } from '../../../../src/runtime/logger.js';
import { MetricsRegistry } from '../../../../src/runtime/metrics-registry.js';
import { applyKeyedExchange, parseKeyedExchange } from '../../../../src/runtime/parallel/keyed-exchange-setting.js';
import { ParallelJobRunner } from '../../../../src/runtime/parallel/parallel-job-runner.js';
import { prestartedSubtaskCounts, prestartSubtasks } from '../../../../src/runtime/parallel/subtask-prestart.js';
import { KEYED_CHAIN_SECTION } from '../../../../src/runtime/execution/keyed-state-sections.js';
import { decodeStateEnvelope } from '../../../../src/runtime/execution/state-envelope.js';
import { decodeChain, type StateChain } from '../../../../src/runtime/state/snapshot/state-chain.js';
import { keyOf, type CountedRecord } from './support/counting-job.js';

const JOB_URL = new URL('./support/counting-job.js', import.meta.url).href;

/** The keyed state chain of subtask `index` of the count step in checkpoint `checkpointId`. */
async function countChain(dir: string, checkpointId: number, index: number): Promise<StateChain> {
  const store = new LocalCheckpointStore(join(dir, 'checkpoints'));
  const checkpoint = await store.load('pcount', checkpointId);
  const task = `pcount.count#${index}`;
  const bytes = await store.readState('pcount', checkpointId, checkpoint.metadata.operators[task]!);
  return decodeChain(decodeStateEnvelope(bytes, task).get(KEYED_CHAIN_SECTION)!.bytes, task);
}

async function runParallel(dir: string, parallelism: number, settings: Record<string, string>, retain?: number, stateBackend: 'heap' | 'disk' = 'heap'): Promise<{ error?: Error; lastCheckpoint?: number }> {
  const job = ((await import(JOB_URL)) as { default: Job }).default;
  const all = { OUT_DIR: join(dir, 'out'), ...settings };
  const metrics = new MetricsRegistry();
  const plan = await job.build({ jobName: job.name, settings: all, workDir: dir, logger: silentLogger(), metrics });
  applyKeyedExchange(plan.flow, parseKeyedExchange(settings.KEYED_EXCHANGE));
  const runner = new ParallelJobRunner({
    flow: plan.flow,
    store: new LocalCheckpointStore(join(dir, 'checkpoints')),
    checkpoint: retain === undefined ? job.checkpoint : { ...job.checkpoint, retain },
    metrics,
    logger: silentLogger(),
    deadLetters: new FileDeadLetterSink(join(dir, 'dlq.jsonl')),
    parallelism,
    jobUrl: JOB_URL,
    settings: all,
    workDir: dir,
    stateBackend,
    stateDir: join(dir, 'state'),
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
  });
  try {
    const result = await runner.run();
    return { ...(result.lastCheckpoint === undefined ? {} : { lastCheckpoint: result.lastCheckpoint }) };
  } catch (error) {
    return { error: error as Error };
  }
}

function committed(dir: string): CountedRecord[] {
  const out = join(dir, 'out');
  return readdirSync(out)
    .filter((f) => f.endsWith('.jsonl') && !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as CountedRecord));
}

/**
 * Every id of 0..count-1 once, with its own key, and per key the counts 1..n each once: in id
 * order when a key's records come from one split (the order they were generated in), in any
 * order when they come from several (splits interleave as they are read).
 */
function assertExactlyOnce(records: readonly CountedRecord[], count: number, spread = false): void {
  const ids = records.map((r) => r.id).sort((a, b) => a - b);
  assert.equal(ids.length, count, `committed ${ids.length} records of ${count}`);
  ids.forEach((id, i) => assert.equal(id, i, `record ${i} missing or duplicated`));
  const byKey = new Map<string, CountedRecord[]>();
  for (const r of records) {
    assert.equal(r.key, keyOf(r.id, spread));
    byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
  }
  for (const [key, list] of byKey) {
    if (spread) {
      const counts = list.map((r) => r.count).sort((a, b) => a - b);
      counts.forEach((c, i) => assert.equal(c, i + 1, `key ${key}: counts are not 1..${list.length} each once (position ${i} holds ${c})`));
      continue;
    }
    list.sort((a, b) => a.id - b.id);
    list.forEach((r, i) => assert.equal(r.count, i + 1, `key ${key}: count of record ${r.id} is ${r.count}, expected ${i + 1}`));
  }
}

test('two subtasks commit every record once with continuous keyed counts; a restart with the same parallelism extends their state chains', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parallel-'));
  const result = await runParallel(dir, 2, { COUNT: '3000', RATE: '30000' }, 100);
  assert.equal(result.error, undefined, String(result.error));
  assert.ok((result.lastCheckpoint ?? 0) >= 2, 'several checkpoints');
  assertExactlyOnce(committed(dir), 3000);
  const before = await countChain(dir, result.lastCheckpoint!, 0);
  const again = await runParallel(dir, 2, { COUNT: '4000', RATE: '30000' }, 100);
  assert.equal(again.error, undefined, String(again.error));
  assertExactlyOnce(committed(dir), 4000);
  // The first checkpoint after the restore (a later one may have merged the chain into a new base).
  const after = await countChain(dir, result.lastCheckpoint! + 1, 0);
  assert.equal(after.files[0]!.name, before.files[0]!.name, 'the restored chain is extended: its base file stays');
  assert.deepEqual(after.keyGroups, { start: 0, end: 63 }, 'the chain records the key groups of subtask 0 of 2');
});

test('a final commit that fails is tried again: the bounded run ends with every record committed once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parallel-final-commit-'));
  const result = await runParallel(dir, 2, { COUNT: '2000', RATE: '1000000', FAIL_FINAL_COMMITS: '2' });
  assert.equal(result.error, undefined, String(result.error));
  assertExactlyOnce(committed(dir), 2000);
});

test('subtask threads started with the process, before the job is loaded, are claimed by the run; the ones it has no use for are ended', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parallel-prestart-'));
  // A thread with another heap limit, and one more than the run takes.
  const before = prestartedSubtaskCounts().claimed;
  prestartSubtasks(3, undefined, JOB_URL);
  prestartSubtasks(1, 512, JOB_URL);
  assert.equal(prestartedSubtaskCounts().waiting, 4);
  const result = await runParallel(dir, 2, { COUNT: '3000', RATE: '1000000' });
  assert.equal(result.error, undefined, String(result.error));
  assertExactlyOnce(committed(dir), 3000);
  assert.deepEqual(prestartedSubtaskCounts(), { waiting: 0, claimed: before + 2 }, 'two were claimed, the other two ended');
});

test('a prestarted thread whose preload named another module loads the job of the run that claims it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parallel-prestart-other-'));
  const before = prestartedSubtaskCounts().claimed;
  prestartSubtasks(1, undefined, new URL('./support/no-such-job.js', import.meta.url).href);
  const result = await runParallel(dir, 1, { COUNT: '500', RATE: '1000000' });
  assert.equal(result.error, undefined, String(result.error));
  assertExactlyOnce(committed(dir), 500);
  assert.deepEqual(prestartedSubtaskCounts(), { waiting: 0, claimed: before + 1 });
});

test('a subtask that dies fails the run; a restart with other parallelism (2 → 3 → 1) continues exactly once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parallel-crash-'));
  const crashed = await runParallel(dir, 2, { COUNT: '4000', RATE: '1000', EXIT_AT: '1000' });
  assert.ok(crashed.error !== undefined, 'the run failed');
  assert.match(crashed.error.message, /subtask \d: thread exited with code 3/);
  const partial = committed(dir).length;
  assert.ok(partial > 0 && partial < 4000, `some records were committed before the crash (${partial})`);
  const second = await runParallel(dir, 3, { COUNT: '6000', RATE: '30000' });
  assert.equal(second.error, undefined, String(second.error));
  assertExactlyOnce(committed(dir), 6000);
  const third = await runParallel(dir, 1, { COUNT: '7000', RATE: '30000' });
  assert.equal(third.error, undefined, String(third.error));
  assertExactlyOnce(committed(dir), 7000);
});

for (const backend of ['heap', 'disk'] as const) {
  test(`keys whose records come from every split (${backend} state): each key is counted in one subtask, exactly once, across restarts at other parallelism`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parallel-spread-'));
    const first = await runParallel(dir, 2, { COUNT: '3000', RATE: '30000', KEYS: 'spread' }, undefined, backend);
    assert.equal(first.error, undefined, String(first.error));
    assertExactlyOnce(committed(dir), 3000, true);
    const crashed = await runParallel(dir, 3, { COUNT: '6000', RATE: '1000', KEYS: 'spread', EXIT_AT: '4000' }, undefined, backend);
    assert.ok(crashed.error !== undefined, 'the run failed');
    const second = await runParallel(dir, 2, { COUNT: '7000', RATE: '30000', KEYS: 'spread' }, undefined, backend);
    assert.equal(second.error, undefined, String(second.error));
    assertExactlyOnce(committed(dir), 7000, true);
  });
}

/** Per key, how many committed records carry each count (a key counted in two subtasks repeats counts). */
function repeatedCounts(records: readonly CountedRecord[]): number {
  const seen = new Set<string>();
  let repeated = 0;
  for (const r of records) {
    const id = `${r.key}/${r.count}`;
    if (seen.has(id)) repeated++;
    seen.add(id);
  }
  return repeated;
}

for (const backend of ['heap', 'disk'] as const) {
  test(`a source-partitioned keyed step (${backend} state) keeps each split's keys in its subtask, and its state follows the splits across restarts at other parallelism and across modes`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parallel-source-keys-'));
    const declared = { SOURCE_PARTITIONED: 'true', RATE: '30000' };
    const first = await runParallel(dir, 2, { ...declared, COUNT: '3000' }, 100, backend);
    assert.equal(first.error, undefined, String(first.error));
    assertExactlyOnce(committed(dir), 3000);
    const chains = [await countChain(dir, first.lastCheckpoint!, 0), await countChain(dir, first.lastCheckpoint!, 1)];
    for (const chain of chains) assert.equal(chain.keyGroups, undefined, 'the state is not limited to a key-group range');
    const owned = chains.map((c) => c.splits ?? []);
    assert.ok(owned[0]!.includes('') && !owned[1]!.includes(''), `subtask 0 also owns keys of no split: ${JSON.stringify(owned)}`);
    const real = owned.map((splits) => splits.filter((s) => s !== ''));
    assert.ok(real[0]!.length > 0 && real[1]!.length > 0 && real[0]!.every((s) => !real[1]!.includes(s)), `each chain records its subtask's splits: ${JSON.stringify(owned)}`);
    // Same parallelism, same splits: the chains are extended, not rewritten.
    const again = await runParallel(dir, 2, { ...declared, COUNT: '4000' }, 100, backend);
    assert.equal(again.error, undefined, String(again.error));
    assertExactlyOnce(committed(dir), 4000);
    assert.equal((await countChain(dir, first.lastCheckpoint! + 1, 0)).files[0]!.name, chains[0]!.files[0]!.name, 'the restored chain is extended: its base file stays');
    // Other parallelism (the state is cut by split), a crash, then the keyed exchange (cut by key group) and back.
    const crashed = await runParallel(dir, 3, { ...declared, COUNT: '7000', RATE: '1000', EXIT_AT: '5000' }, undefined, backend);
    assert.ok(crashed.error !== undefined, 'the run failed');
    const exchanged = await runParallel(dir, 2, { COUNT: '8000', RATE: '30000' }, undefined, backend);
    assert.equal(exchanged.error, undefined, String(exchanged.error));
    assertExactlyOnce(committed(dir), 8000);
    const back = await runParallel(dir, 3, { ...declared, COUNT: '9000' }, undefined, backend);
    assert.equal(back.error, undefined, String(back.error));
    assertExactlyOnce(committed(dir), 9000);
    const single = await runParallel(dir, 1, { ...declared, COUNT: '10000' }, 100, backend);
    assert.equal(single.error, undefined, String(single.error));
    assertExactlyOnce(committed(dir), 10000);
    // One subtask holds every key: its restart extends its chain too.
    const base = (await countChain(dir, single.lastCheckpoint!, 0)).files[0]!.name;
    const singleAgain = await runParallel(dir, 1, { ...declared, COUNT: '10500' }, 100, backend);
    assert.equal(singleAgain.error, undefined, String(singleAgain.error));
    assertExactlyOnce(committed(dir), 10500);
    assert.equal((await countChain(dir, single.lastCheckpoint! + 1, 0)).files[0]!.name, base, 'the single subtask extends its restored chain');
  });
}

test('a source-partitioned step trusts the declaration: keys spread over the splits are counted apart in each subtask, unless KEYED_EXCHANGE=always', async () => {
  const trusted = mkdtempSync(join(tmpdir(), 'parallel-trusted-'));
  const run = await runParallel(trusted, 2, { SOURCE_PARTITIONED: 'true', KEYS: 'spread', COUNT: '2000', RATE: '30000' });
  assert.equal(run.error, undefined, String(run.error));
  const records = committed(trusted);
  assert.equal(records.length, 2000);
  assert.ok(repeatedCounts(records) > 0, 'no record crossed between subtasks, so both counted some key from 1');
  const exchanged = mkdtempSync(join(tmpdir(), 'parallel-exchanged-'));
  const always = await runParallel(exchanged, 2, { SOURCE_PARTITIONED: 'true', KEYED_EXCHANGE: 'always', KEYS: 'spread', COUNT: '2000', RATE: '30000' });
  assert.equal(always.error, undefined, String(always.error));
  assertExactlyOnce(committed(exchanged), 2000, true);
});
