/**
 * The checkpoint and HA part of `inspect`: the job's completed checkpoints in its location (id,
 * age, size: its own state objects and the shared state files it references), the incomplete ones
 * with why, the HA pointer of this location and who holds the lease.
 */
import type { CheckpointStore } from '../../runtime/checkpoint-store.js';
import type { HaStore } from '../../runtime/ha-store.js';
import type { Clock } from '../../runtime/time/clock.js';
import { withDeadline } from '../remote/deadline.js';
import { formatBytes, formatDuration, formatTime } from './text-format.js';

export async function checkpointReport(store: CheckpointStore, scope: string, clock: Clock, timeoutMs: number): Promise<string[]> {
  const skipped: Array<{ id: number; reason: string }> = [];
  const completed = await withDeadline(clock, timeoutMs * 4, `listing the checkpoints in ${store.uri}`, () => store.listCompleted(scope, (id, reason) => skipped.push({ id, reason })));
  const now = clock.now();
  const lines = [`Checkpoints of '${scope}' in ${store.uri}`];
  if (completed.length === 0 && skipped.length === 0) return [...lines, '  none yet'];
  for (const checkpoint of completed) {
    const { metadata } = checkpoint;
    const own = Object.values(metadata.operators).reduce((n, h) => n + h.bytes, 0);
    const shared = (metadata.sharedState ?? []).reduce((n, f) => n + f.bytes, 0);
    lines.push(`  ${String(metadata.checkpointId).padStart(6)}  completed ${formatTime(metadata.completedAt, now)}  ${formatBytes(own + shared)}${shared > 0 ? ` (${formatBytes(own)} own, ${formatBytes(shared)} shared state)` : ''}  fencing token ${metadata.fencingToken}`);
  }
  for (const { id, reason } of skipped.sort((a, b) => b.id - a.id)) lines.push(`  ${String(id).padStart(6)}  not usable: ${reason}`);
  return lines;
}

export async function haReport(ha: HaStore, jobName: string, checkpoints: string, clock: Clock, timeoutMs: number): Promise<string[]> {
  const [pointer, lease] = await withDeadline(clock, timeoutMs, `reading the HA store ${ha.uri}`, () => Promise.all([ha.readPointer(jobName, checkpoints), ha.readLease(jobName)]));
  const now = clock.now();
  const lines = [`HA store ${ha.uri}`];
  lines.push(pointer === undefined ? `  pointer: none for ${checkpoints}` : `  pointer: checkpoint ${pointer.checkpointId} (${pointer.location}), published with fencing token ${pointer.fencingToken}`);
  if (lease === undefined) lines.push('  lease:   never taken');
  else if (lease.expiresAt === 0) lines.push(`  lease:   released by '${lease.owner}' (fencing token ${lease.fencingToken})`);
  else if (lease.expiresAt > now) lines.push(`  lease:   held by '${lease.owner}' with fencing token ${lease.fencingToken}, expires in ${formatDuration(lease.expiresAt - now)}`);
  else lines.push(`  lease:   expired ${formatDuration(now - lease.expiresAt)} ago; last held by '${lease.owner}' with fencing token ${lease.fencingToken}`);
  return lines;
}
