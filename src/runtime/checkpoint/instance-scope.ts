/**
 * Checkpoint scopes of group-mode instances: each instance of a job writes its checkpoints to
 * `<job>.<instance id>`, with an id made here (`i-` and 8 hex digits). The fixed shape is what
 * lets maintenance recognize the scopes instances left behind, and never mistake another job
 * whose name merely starts with `<job>.` for one.
 */
import { randomBytes } from 'node:crypto';

const INSTANCE_ID = /^i-[0-9a-f]{8}$/;

/** A new instance id, `i-` and 8 random hex digits. */
export function newInstanceId(): string {
  return `i-${randomBytes(4).toString('hex')}`;
}

/** The checkpoint scope of one instance of a job in group mode. */
export function instanceScope(jobName: string, instanceId: string): string {
  return `${jobName}.${instanceId}`;
}

/** Whether `scope` is the scope of an instance (with an id from {@link newInstanceId}) of `jobName`. */
export function isInstanceScopeOf(jobName: string, scope: string): boolean {
  return scope.startsWith(`${jobName}.`) && INSTANCE_ID.test(scope.slice(jobName.length + 1));
}
