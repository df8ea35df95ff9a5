import { DiskKeyedStateBackend } from './disk/disk-keyed-state-backend.js';
import { HeapKeyedStateBackend } from './heap/heap-keyed-state-backend.js';
import type { KeyedStateBackend, KeyedStateContext } from './keyed-state-backend.js';
import type { StateBackendKind } from './state-backend-setting.js';

export { parseStateBackend, type StateBackendKind } from './state-backend-setting.js';

/** The factory a job runner creates keyed state with. */
export function keyedStateFactory(kind: StateBackendKind): (context: KeyedStateContext) => KeyedStateBackend {
  return kind === 'disk' ? (context) => new DiskKeyedStateBackend(context) : (context) => new HeapKeyedStateBackend(context);
}
