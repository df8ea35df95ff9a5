/**
 * Worker thread entry of a parallel subtask: builds the job from its module, restores its share
 * of the state and runs it (see SubtaskRunner), talking to the coordinator over the parent port.
 */
import { parentPort } from 'node:worker_threads';
import type { DeadLetter, DeadLetterSink } from '../dead-letter.js';
import { checkpointStoreFromUri } from '../checkpoint/checkpoint-store-from-uri.js';
import { installSharedParquetWriterPorts } from '../../iceberg/parquet-writer-pool.js';
import type { Job } from '../job.js';
import { importJobModule } from '../job-module.js';
import { createLogger } from '../logger.js';
import { parseLogFormat } from '../terminal/log-format.js';
import { MetricsRegistry } from '../metrics-registry.js';
import type { RemoteSplitFeed } from '../split-group.js';
import { MaterializationPermit } from '../state/snapshot/materialization-permit.js';
import { keyedStateFactory } from '../state/state-backend-choice.js';
import { systemClock } from '../time/system-clock.js';
import type { FromSubtask, SubtaskStart, ToSubtask } from './subtask-protocol.js';
import { SubtaskRunner, sectionMap, toWireError } from './subtask-runner.js';
import { applyKeyedExchange, parseKeyedExchange } from './keyed-exchange-setting.js';

const port = parentPort;
if (port === null) throw new Error('subtask-worker.js runs as a worker thread');
const post = (message: FromSubtask, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/** Dead letters go to the coordinator, which sends them (and flushes them before a checkpoint completes). */
const forwardedDeadLetters: DeadLetterSink = {
  send: (letters: readonly DeadLetter[]) => post({ type: 'dead-letters', letters: [...letters] }),
  flush: async () => undefined,
  close: async () => undefined,
};

let runner: SubtaskRunner | undefined;
/** The job module a `preload` started loading; `start` uses it when it names the same module. */
let preloaded: { readonly url: string; readonly module: Promise<Record<string, unknown>> } | undefined;
let metrics: MetricsRegistry | undefined;
const feedHandlers: ((payload: unknown) => void)[] = [];
const reassignedHandlers: ((splits: readonly string[]) => void)[] = [];
const feed: RemoteSplitFeed = {
  send: (payload) => post({ type: 'feed-control', payload }),
  onDeliver: (handler) => void feedHandlers.push(handler),
  onReassigned: (handler) => void reassignedHandlers.push(handler),
};

port.on('message', (message: ToSubtask) => {
  switch (message.type) {
    case 'preload': {
      const module = importJobModule(message.jobUrl);
      // A module that fails to load fails `start`, which reports it; not an unhandled rejection before that.
      module.catch(() => undefined);
      preloaded = { url: message.jobUrl, module };
      return;
    }
    case 'start':
      void start(message).catch((error: unknown) => post({ type: 'failed', error: toWireError(error) }));
      return;
    case 'barrier':
      runner?.injectBarrier(message.checkpointId, message.timestamp, message.thenStop);
      return;
    case 'checkpoint-complete':
      runner?.checkpointComplete(message.checkpointId, message.committed);
      return;
    case 'checkpoint-finished':
      runner?.checkpointFinished(message.checkpointId);
      return;
    case 'feed':
      for (const handler of feedHandlers) handler(message.payload);
      return;
    case 'feed-reassigned':
      for (const handler of reassignedHandlers) handler(message.splits);
      return;
    case 'metrics-request':
      void metrics?.registry.getMetricsAsJSON().then((json) => post({ type: 'metrics', id: message.id, metrics: json }));
      return;
    case 'close':
      void (runner?.close() ?? Promise.resolve()).finally(() => {
        post({ type: 'closed' });
        port.close();
      });
      return;
  }
});

async function start(message: SubtaskStart): Promise<void> {
  const format = parseLogFormat(message.settings.LOG_FORMAT);
  const logger = createLogger({ level: message.logLevel, ...(format ? { format } : {}) }).child({ subtask: message.index });
  // The sink writers of this thread write on the process's Parquet workers, not workers of their own.
  installSharedParquetWriterPorts(message.parquetWorkers, () => post({ type: 'parquet-workers-wanted' }));
  const job = (await (preloaded?.url === message.jobUrl ? preloaded.module : importJobModule(message.jobUrl))).default as Job;
  metrics = new MetricsRegistry();
  metrics.initJob(job.name);
  const plan = await job.build({ jobName: job.name, settings: message.settings, workDir: message.workDir, logger, metrics, subtask: { index: message.index, parallelism: message.parallelism } });
  applyKeyedExchange(plan.flow, parseKeyedExchange(message.settings.KEYED_EXCHANGE));
  // The job's own dead-letter destination belongs to the coordinator; this thread forwards to it.
  await plan.deadLetters?.close().catch(() => undefined);
  const source = plan.flow.nodesOf('source')[0]!;
  source.source.useRemoteFeed?.(feed);
  const states = new Map(Object.entries(message.restore.states).map(([id, sections]) => [id, sectionMap(sections)]));
  const positions = new Map<string, unknown>();
  for (const [id, p] of Object.entries(message.restore.positions)) {
    const node = plan.flow.nodesOf('source').find((n) => n.id === id);
    if (node !== undefined) positions.set(id, node.source.positionSerializer.deserialize(p.version, p.bytes));
  }
  runner = new SubtaskRunner({
    flow: plan.flow,
    index: message.index,
    store: checkpointStoreFromUri(message.store.uri, { env: { ...message.store.env }, logger }),
    scope: message.scope,
    restore: { checkpoint: undefined, states, keyed: new Map(Object.entries(message.restore.keyed).map(([id, r]) => [id, [...r]])), positions },
    generation: message.generation,
    splits: message.splits,
    metrics,
    logger,
    clock: systemClock,
    deadLetters: forwardedDeadLetters,
    createKeyedState: keyedStateFactory(message.stateBackend),
    stateDir: message.stateDir,
    parallelism: message.parallelism,
    peers: message.peers.map((p) => p ?? undefined),
    materializationPermit: new MaterializationPermit(message.materializationPermit, systemClock),
    ...(message.snapshotWorker ? { snapshotWorker: message.snapshotWorker } : {}),
    post,
  });
  await runner.open();
  post({ type: 'ready' });
  try {
    await runner.run();
    post({ type: 'done' });
  } catch (error) {
    post({ type: 'failed', error: toWireError(error) });
  }
}
