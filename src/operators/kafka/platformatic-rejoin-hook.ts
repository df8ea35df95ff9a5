/**
 * A blocking "partitions revoked" callback for @platformatic/kafka, which has none: it rejoins
 * the group by itself (a heartbeat answered REBALANCE_IN_PROGRESS or UNKNOWN_MEMBER_ID) and only
 * tells afterwards ('consumer:group:join'). Every JoinGroup it sends takes its API from
 * `kGetApi('JoinGroup')` — a symbol the library exports for subclasses — so wrapping that on our
 * consumer lets us run the hook before the request leaves; the coordinator holds the new
 * generation until every old member rejoined (up to the rebalance timeout).
 *
 * What it relies on (1.35.0, pinned exactly in package.json; refuses other versions):
 * - JoinGroup is only ever sent through `consumer[kGetApi]('JoinGroup', cb)` with a callback;
 * - the library's own heartbeats are cancelled before it sends JoinGroup, so while the hook
 *   runs we heartbeat ourselves, or the coordinator would drop this member after its *session*
 *   timeout (the Java client heartbeats from its own thread during onPartitionsRevoked).
 * test/integration/kafka/consumer-revoke-hook.test.ts guards all of it against a real broker.
 */
import type { Connection, Consumer } from '@platformatic/kafka';
import { StreamlineError } from '../../errors.js';
import type { Clock } from '../../runtime/time/clock.js';
import { hasProtocolError, heartbeatOnce } from './platformatic-group-requests.js';
import { SUPPORTED_PLATFORMATIC_VERSION, type PlatformaticKafka } from './platformatic-module.js';

/** @platformatic/kafka is not the version whose internals this module relies on. */
export class PlatformaticInternalsError extends StreamlineError {
  constructor(found: string) {
    super(
      `The Kafka rebalance hook (onRevoke) relies on @platformatic/kafka ${SUPPORTED_PLATFORMATIC_VERSION} sending JoinGroup through kGetApi, ` +
        `but ${found}. Pin "@platformatic/kafka": "${SUPPORTED_PLATFORMATIC_VERSION}" in package.json and reinstall; to upgrade, first adapt ` +
        'src/operators/kafka/platformatic-rejoin-hook.ts and pass test/integration/kafka/consumer-revoke-hook.test.ts.',
      { retriable: false },
    );
  }
}

/** What runs around each (re)join of one consumer's group. */
export interface JoinHook {
  /** A JoinGroup is about to be sent (every attempt): nothing may be fetched until the new assignment. */
  readonly onJoin: () => void;
  /** Awaited before the first JoinGroup of each generation (the very first join too). */
  readonly beforeJoin?: () => Promise<void>;
  /** `beforeJoin` threw or rejected; the join goes ahead regardless. */
  readonly onError: (error: unknown) => void;
}

/** Heartbeat errors saying this member is no longer in the generation, so keeping it alive is moot. */
const MEMBER_GONE = ['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID'];

type JoinGroupApi = ((connection: Connection, ...args: unknown[]) => void) & { key: number; version: number };
type GetApi = (name: string, callback: (error: Error | null, api?: JoinGroupApi) => void) => void;

/** Makes `consumer` run `hook` around every JoinGroup it sends. Call before it first joins. */
export function installJoinHook(kafka: PlatformaticKafka, consumer: Consumer, hook: JoinHook, options: { sessionTimeoutMs: number; clock: Clock }): void {
  const version = String(kafka.clientSoftwareVersion);
  if (version !== SUPPORTED_PLATFORMATIC_VERSION) throw new PlatformaticInternalsError(`@platformatic/kafka ${version} is installed`);
  const target = consumer as unknown as Record<symbol, unknown>;
  const original = target[kafka.kGetApi];
  if (typeof original !== 'function') throw new PlatformaticInternalsError('Consumer[kGetApi] is not a method');
  const getApi = (original as GetApi).bind(consumer);
  /** The generation whose members' hook already ran (undefined: none yet, so the first join runs it). */
  let hookedGeneration: number | undefined;

  const wrapped: GetApi = (name, callback) => {
    if (name !== 'JoinGroup') {
      getApi(name, callback);
      return;
    }
    getApi(name, (error, api) => {
      if (error || api === undefined) {
        callback(error);
        return;
      }
      const joinAfterHook = ((connection: Connection, ...args: unknown[]) => {
        hook.onJoin();
        const generation = consumer.generationId;
        if (hook.beforeJoin === undefined || hookedGeneration === generation) {
          api(connection, ...args);
          return;
        }
        hookedGeneration = generation;
        const stopKeepAlive = keepAlive(kafka, consumer, connection, options);
        void hook
          .beforeJoin()
          .catch(hook.onError)
          .finally(async () => {
            await stopKeepAlive();
            api(connection, ...args);
          });
      }) as JoinGroupApi;
      joinAfterHook.key = api.key;
      joinAfterHook.version = api.version;
      callback(null, joinAfterHook);
    });
  };
  target[kafka.kGetApi] = wrapped;
}

/** Heartbeats on the coordinator connection while the hook runs; returns the stop function. */
function keepAlive(kafka: PlatformaticKafka, consumer: Consumer, connection: Connection, options: { sessionTimeoutMs: number; clock: Clock }): () => Promise<void> {
  // No member id: first join, or the coordinator already forgot us — nothing to keep alive.
  if (consumer.memberId === null) return async () => undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const timer = options.clock.setInterval(() => {
    inFlight = heartbeatOnce(kafka, consumer, connection).catch((error: unknown) => {
      // REBALANCE_IN_PROGRESS is the normal answer now: the session is renewed all the same.
      if (MEMBER_GONE.some((id) => hasProtocolError(error, id))) timer.cancel();
    });
  }, Math.max(100, Math.floor(options.sessionTimeoutMs / 3)));
  return async () => {
    timer.cancel();
    // Let ours settle first, so no heartbeat of the old generation follows the JoinGroup on this connection.
    await inFlight;
  };
}
