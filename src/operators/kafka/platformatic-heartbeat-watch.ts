import type { EventEmitter } from 'node:events';
import { StreamlineError } from '../../errors.js';
import type { Clock } from '../../runtime/time/clock.js';

/**
 * Fails a @platformatic/kafka group consumer whose heartbeats keep failing. The library re-finds
 * neither a moved coordinator nor one that stays unreachable: its heartbeats just keep failing.
 * Once they have failed for longer than a session timeout in a row, the coordinator has dropped
 * this member anyway; failing lets the job (or the group runner) start afresh. A single failure
 * — e.g. the request that timed out while the process was paused — is not a run: the next
 * heartbeat rejoins (UNKNOWN_MEMBER_ID).
 *
 * `consumer` is the library's Consumer (its 'consumer:heartbeat:*' and 'consumer:group:join' events).
 */
export function watchHeartbeats(consumer: EventEmitter, options: { groupId: string; sessionTimeoutMs: number; clock: Clock }, fatal: (error: Error) => void): void {
  let failingSince: number | undefined;
  const ok = () => (failingSince = undefined);
  consumer.on('consumer:heartbeat:end', ok);
  consumer.on('consumer:group:join', ok);
  consumer.on('consumer:heartbeat:error', ({ error }: { error: Error }) => {
    const now = options.clock.monotonic();
    failingSince ??= now;
    if (now - failingSince > options.sessionTimeoutMs) {
      fatal(new StreamlineError(`the Kafka consumer of group '${options.groupId}' has had only failing heartbeats for ${Math.round(now - failingSince)} ms: ${error.message}`, { cause: error }));
    }
  });
}
