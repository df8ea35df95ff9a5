import { StreamlineError } from '../../errors.js';

/** A key was routed to an instance that does not own its key group. */
export class KeyGroupOutOfRangeError extends StreamlineError {}

/** A state name was declared twice with different kinds or TTLs, or restored state does not fit its declaration. */
export class StateDeclarationError extends StreamlineError {}
