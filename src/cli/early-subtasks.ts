/**
 * The subtask threads a `run` starts before it loads the job and the runtime
 * (runtime/parallel/subtask-prestart.ts): PARALLELISM of them, but no more than leave the
 * coordinator a core of its own while they load (each load is ~0.6 s of a core: two subtasks and
 * the coordinator loading at once on two cores delayed the coordinator as much as the subtasks
 * gained), with the heap limit the settings give. A job that declares its own state backend, with
 * none in the settings, may need another limit: its run then starts threads of its own.
 */
import { availableParallelism } from 'node:os';
import { resolveJobModule } from './job-loader.js';
import { parseParallelism } from '../runtime/parallel/parallelism-setting.js';
import { SubtaskHandle } from '../runtime/parallel/subtask-handle.js';
import { subtaskHeapMbSetting } from '../runtime/parallel/subtask-heap.js';
import { prestartSubtasks } from '../runtime/parallel/subtask-prestart.js';
import { parseStateBackend } from '../runtime/state/state-backend-setting.js';

/** Starts the subtask threads of a run of `jobPath`; a setting that does not parse starts none (the run reports it a moment later). */
export function prestartSubtasksFor(jobPath: string, settings: Readonly<Record<string, string | undefined>>): void {
  if (!SubtaskHandle.isAvailable()) return;
  let count: number;
  let heapMb: number | undefined;
  let jobUrl: string;
  try {
    count = Math.min(parseParallelism(settings.PARALLELISM), Math.max(1, availableParallelism() - 1));
    heapMb = subtaskHeapMbSetting(settings.SUBTASK_HEAP_MB, parseStateBackend(settings.STATE_BACKEND, undefined));
    jobUrl = resolveJobModule(jobPath);
  } catch {
    return;
  }
  prestartSubtasks(count, heapMb, jobUrl);
}
