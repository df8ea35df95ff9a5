/**
 * A blocking "partitions revoked" callback for kafkajs, which has no public one: kafkajs only
 * emits REBALANCING (not awaited) and GROUP_JOIN (after the new assignment is already in force).
 *
 * Why a private API: every (re)join of a kafkajs consumer goes through the private
 * `ConsumerGroup.prototype.joinAndSync` (kafkajs/src/consumer/consumerGroup.js) — the Runner
 * calls it at start, when a heartbeat or fetch answers REBALANCE_IN_PROGRESS and on
 * UNKNOWN_MEMBER_ID, after its fetch loop has stopped. Wrapping it lets us await a hook before
 * this member sends JoinGroup; the coordinator holds the new generation until every old member
 * has rejoined (up to the rebalance timeout), so no one else gets these partitions meanwhile.
 *
 * What it relies on (kafkajs 2.2.4, pinned exactly in package.json):
 * - `ConsumerGroup.prototype.joinAndSync()` is the only way into JoinGroup/SyncGroup;
 * - a ConsumerGroup keeps the consumer's InstrumentationEventEmitter as `instrumentationEmitter`
 *   (one per `kafka.consumer()`, kept across kafkajs' crash restarts), and `consumer.on()`
 *   synchronously calls that emitter's `addListener` (kafkajs/src/instrumentation/emitter.js);
 * - `ConsumerGroup.prototype.heartbeat({ interval })`, `memberId` and `sessionTimeout`.
 * test/integration/kafka/consumer-revoke-hook.test.ts guards all of it against a real broker;
 * run it before moving kafkajs off the version below.
 */
import { createRequire } from 'node:module';
import type { Consumer } from 'kafkajs';
import { StreamlineError } from '../../errors.js';

/** The only kafkajs version whose internals this module was verified against. */
export const SUPPORTED_KAFKAJS_VERSION = '2.2.4';

/** kafkajs' internals are not what this module relies on (another version, a refactoring). */
export class KafkaJsInternalsError extends StreamlineError {
  constructor(found: string) {
    super(
      `The Kafka rebalance hook (onRevoke) patches kafkajs internals verified only with kafkajs ${SUPPORTED_KAFKAJS_VERSION}, ` +
        `but ${found}. Pin "kafkajs": "${SUPPORTED_KAFKAJS_VERSION}" in package.json and reinstall ` +
        `(npm install --save-exact kafkajs@${SUPPORTED_KAFKAJS_VERSION}); to upgrade kafkajs, first adapt ` +
        'src/operators/kafka/kafkajs-rejoin-hook.ts and pass test/integration/kafka/consumer-revoke-hook.test.ts.',
      { retriable: false },
    );
  }
}

/** What runs before each (re)join of one consumer's group. */
export interface RejoinHook {
  /** Awaited before JoinGroup is sent. */
  readonly beforeJoin: () => Promise<void>;
  /** `beforeJoin` threw or rejected; the join goes ahead regardless. */
  readonly onError: (error: unknown) => void;
}

/** The parts of kafkajs' ConsumerGroup this module touches. */
interface ConsumerGroupInternals {
  readonly instrumentationEmitter: object;
  readonly memberId: string | null;
  readonly sessionTimeout: number;
  heartbeat(options: { interval: number }): Promise<void>;
}

type JoinAndSync = (this: ConsumerGroupInternals) => Promise<void>;
type AddListener = (this: object, eventName: string, listener: (...args: unknown[]) => void) => () => void;

/**
 * Shared by every copy of this module in the process (e.g. src and a test build importing
 * kafkajs from the same node_modules), so the prototypes are patched once and all copies see
 * every registration.
 */
interface HookState {
  /** Keyed by the consumer's InstrumentationEventEmitter, which its ConsumerGroup also holds. */
  readonly hooks: WeakMap<object, RejoinHook>;
  /** Set while `emitterOf` probes a consumer: the emitter its `on()` added a listener to. */
  probe: { emitter: object | undefined } | undefined;
}

const STATE = Symbol.for('streamline.kafkajs-rejoin-hook');

/** Heartbeat errors saying this member is no longer in the generation, so keeping it alive is moot. */
const MEMBER_GONE = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID']);

/**
 * Makes kafkajs await `hook.beforeJoin` before `consumer` (re)joins its group. Call before
 * `consumer.run()`; returns the unregister function. One hook per consumer.
 */
export function registerRejoinHook(consumer: Consumer, hook: RejoinHook): () => void {
  const state = install();
  const emitter = emitterOf(consumer, state);
  if (state.hooks.has(emitter)) throw new StreamlineError('A rejoin hook is already registered for this kafkajs consumer; unregister it first.');
  state.hooks.set(emitter, hook);
  return () => {
    if (state.hooks.get(emitter) === hook) state.hooks.delete(emitter);
  };
}

/**
 * The consumer's InstrumentationEventEmitter. kafkajs wraps every listener given to
 * `consumer.on()` in a closure, so our listener functions never appear in the emitter and cannot
 * identify it; the emitter instance itself is what the ConsumerGroup shares with the consumer.
 * We catch it by adding (and at once removing) a probe listener while `addListener` is watched.
 */
function emitterOf(consumer: Consumer, state: HookState): object {
  const probe: { emitter: object | undefined } = { emitter: undefined };
  state.probe = probe;
  let remove: () => void;
  try {
    remove = consumer.on(consumer.events.GROUP_JOIN, () => undefined);
  } finally {
    state.probe = undefined;
  }
  remove();
  if (probe.emitter === undefined) throw new KafkaJsInternalsError('consumer.on() no longer goes through InstrumentationEventEmitter.addListener');
  return probe.emitter;
}

/** Patches kafkajs once per process; throws KafkaJsInternalsError when its internals differ. */
function install(): HookState {
  const require = createRequire(import.meta.url);
  const version = (require('kafkajs/package.json') as { version?: unknown }).version;
  if (version !== SUPPORTED_KAFKAJS_VERSION) throw new KafkaJsInternalsError(`kafkajs ${String(version)} is installed`);
  const groupProto = prototypeOf(require, 'kafkajs/src/consumer/consumerGroup.js');
  const emitterProto = prototypeOf(require, 'kafkajs/src/instrumentation/emitter.js');
  const existing = groupProto[STATE] as HookState | undefined;
  if (existing !== undefined) return existing;

  const joinAndSync = groupProto.joinAndSync;
  const addListener = emitterProto.addListener;
  if (typeof joinAndSync !== 'function' || typeof addListener !== 'function' || typeof groupProto.heartbeat !== 'function') {
    throw new KafkaJsInternalsError('kafkajs ConsumerGroup.joinAndSync/heartbeat or InstrumentationEventEmitter.addListener is missing');
  }
  const state: HookState = { hooks: new WeakMap(), probe: undefined };
  const originalJoin = joinAndSync as JoinAndSync;
  const originalAdd = addListener as AddListener;

  groupProto.joinAndSync = async function joinAndSyncAfterHook(this: ConsumerGroupInternals): Promise<void> {
    const hook = state.hooks.get(this.instrumentationEmitter);
    if (hook !== undefined) await runHook(this, hook);
    return originalJoin.call(this);
  } satisfies JoinAndSync;
  emitterProto.addListener = function addListenerWatched(this: object, eventName, listener) {
    if (state.probe !== undefined) state.probe.emitter = this;
    return originalAdd.call(this, eventName, listener);
  } satisfies AddListener;
  groupProto[STATE] = state;
  return state;
}

function prototypeOf(require: NodeJS.Require, path: string): Record<PropertyKey, unknown> {
  let exported: unknown;
  try {
    exported = require(path);
  } catch (error) {
    throw new KafkaJsInternalsError(`${path} cannot be loaded (${String(error)})`);
  }
  const proto = (exported as { prototype?: unknown } | undefined)?.prototype;
  if (typeof proto !== 'object' || proto === null) throw new KafkaJsInternalsError(`${path} no longer exports a class`);
  return proto as Record<PropertyKey, unknown>;
}

/** Runs the hook; a failing hook is reported, never allowed to break kafkajs' rejoin. */
async function runHook(group: ConsumerGroupInternals, hook: RejoinHook): Promise<void> {
  const stopKeepAlive = keepAlive(group);
  try {
    await hook.beforeJoin();
  } catch (error) {
    hook.onError(error);
  } finally {
    await stopKeepAlive();
  }
}

/**
 * Heartbeats while the hook runs. The coordinator expires a member that has not rejoined yet
 * after its *session* timeout unless it keeps heartbeating (the answer is REBALANCE_IN_PROGRESS,
 * but the session is renewed) — without this a hook longer than the session timeout would lose
 * the member long before the rebalance timeout. The Java client does the same from its
 * heartbeat thread during onPartitionsRevoked.
 */
function keepAlive(group: ConsumerGroupInternals): () => Promise<void> {
  // No member id: first join, or the coordinator already forgot us — nothing to keep alive.
  if (!group.memberId) return async () => undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    inFlight = group.heartbeat({ interval: 0 }).catch((error: unknown) => {
      if (MEMBER_GONE.has(String((error as { type?: unknown }).type))) clearInterval(timer);
    });
  }, Math.max(100, Math.floor(group.sessionTimeout / 3)));
  return async () => {
    clearInterval(timer);
    // kafkajs shares one pending heartbeat between callers: let ours settle before the join so the
    // Runner's first heartbeat afterwards cannot pick up its stale REBALANCE_IN_PROGRESS.
    await inFlight;
  };
}
