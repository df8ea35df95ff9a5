import { StreamlineError } from '../../errors.js';

/** A key was routed to an instance that does not own its key group. */
export class KeyGroupOutOfRangeError extends StreamlineError {}

/** A state name was declared twice with different kinds or TTLs, or restored state does not fit its declaration. */
export class StateDeclarationError extends StreamlineError {}

/**
 * Keyed state holds as many keys as its backend can; no record causes it, so it fails the task
 * instead of sending records to dead letters. The message names the setting that helps.
 */
export class StateCapacityError extends StreamlineError {}
