/**
 * The settings of the process that runs a job (not those of its input or output, which the job's
 * own build validates): read once, with errors that name the setting. Shared by a run and by
 * `check`, so both accept and refuse the same configuration.
 */
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { CheckpointOptions } from '../runtime/execution/checkpoint-options.js';
import type { RestoreSelection } from '../runtime/execution/job-runner.js';
import { intSetting } from '../runtime/int-setting.js';
import type { Job } from '../runtime/job.js';
import { parseKeyedExchange, type KeyedExchange } from '../runtime/parallel/keyed-exchange-setting.js';
import { parseParallelism } from '../runtime/parallel/parallelism-setting.js';
import { subtaskHeapMbSetting } from '../runtime/parallel/subtask-heap.js';
import { parseStateBackend, type StateBackendKind } from '../runtime/state/state-backend-choice.js';

/** How instances of one job share the work (SCALE_OUT). */
export type ScaleOut = 'standby' | 'group';

export interface ProcessSettings {
  /** Local state of the embedded default (STREAMLINE_WORK_DIR), absolute. */
  readonly workDir: string;
  /** 0 = no HTTP server. */
  readonly metricsPort: number;
  readonly stopTimeoutMs: number;
  readonly scaleOut: ScaleOut;
  /** CHECKPOINT_URI, or `file://<work dir>/checkpoints`. */
  readonly checkpointUri: string;
  readonly stateBackend: StateBackendKind;
  readonly stateDir: string;
  readonly parallelism: number;
  /** KEYED_EXCHANGE: whether keyed steps declared source-partitioned skip the keyed exchange. */
  readonly keyedExchange: KeyedExchange;
  /** SUBTASK_HEAP_MB (or its default for the state backend): each subtask thread's V8 heap limit; undefined leaves V8's own. */
  readonly subtaskHeapMb: number | undefined;
  readonly eventLoopDelayWarnMs: number;
  /** The job's checkpointing with CHECKPOINT_INTERVAL_MS / CHECKPOINT_RETAIN / CHECKPOINT_TOLERABLE_FAILURES applied. */
  readonly checkpoint: CheckpointOptions;
  readonly leaseTtlMs: number;
  readonly restoreFrom: RestoreSelection;
}

/** Reads every process setting; throws ConfigError naming the first invalid one. */
export function parseProcessSettings(settings: Readonly<Record<string, string | undefined>>, job: Pick<Job, 'checkpoint' | 'stateBackend'>): ProcessSettings {
  const workDir = workDirOf(settings);
  const scaleOut = parseScaleOut(settings.SCALE_OUT);
  const restoreFrom = parseRestore(settings.FROM_CHECKPOINT);
  if (scaleOut === 'group' && restoreFrom !== 'latest') {
    throw new ConfigError('FROM_CHECKPOINT (--from-checkpoint)', "must be 'latest' with SCALE_OUT=group: every partition continues from where the job's table has it");
  }
  const stateBackend = parseStateBackend(settings.STATE_BACKEND, job.stateBackend);
  return {
    workDir,
    metricsPort: intSetting(settings, 'METRICS_PORT', 9249),
    stopTimeoutMs: intSetting(settings, 'STOP_TIMEOUT_MS', 60_000, 1),
    scaleOut,
    checkpointUri: settings.CHECKPOINT_URI ?? `file://${join(workDir, 'checkpoints')}`,
    stateBackend,
    stateDir: resolve(settings.STATE_DIR ?? join(workDir, 'state')),
    parallelism: parseParallelism(settings.PARALLELISM),
    keyedExchange: parseKeyedExchange(settings.KEYED_EXCHANGE),
    subtaskHeapMb: subtaskHeapMbSetting(settings.SUBTASK_HEAP_MB, stateBackend),
    eventLoopDelayWarnMs: intSetting(settings, 'EVENT_LOOP_DELAY_WARN_MS', 200, 1),
    checkpoint: {
      ...job.checkpoint,
      ...(settings.CHECKPOINT_INTERVAL_MS ? { intervalMs: intSetting(settings, 'CHECKPOINT_INTERVAL_MS', 10_000, 1) } : {}),
      ...(settings.CHECKPOINT_RETAIN ? { retain: intSetting(settings, 'CHECKPOINT_RETAIN', 3, 1) } : {}),
      ...(settings.CHECKPOINT_TOLERABLE_FAILURES ? { tolerableFailures: intSetting(settings, 'CHECKPOINT_TOLERABLE_FAILURES', 0, 0) } : {}),
    },
    leaseTtlMs: intSetting(settings, 'LEASE_TTL_MS', 15_000, 1_000),
    restoreFrom,
  };
}

/** STREAMLINE_WORK_DIR (default `./.streamline`), absolute. */
export function workDirOf(settings: Readonly<Record<string, string | undefined>>): string {
  return resolve(settings.STREAMLINE_WORK_DIR ?? '.streamline');
}

export function parseScaleOut(raw: string | undefined): ScaleOut {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'standby') return 'standby';
  if (value === 'group') return 'group';
  throw new ConfigError('SCALE_OUT (--scale-out)', `must be 'standby' (one active instance, the others wait) or 'group' (instances share the Kafka partitions), got '${raw}'`);
}

function parseRestore(raw: string | undefined): RestoreSelection {
  if (raw === undefined || raw === '' || raw === 'latest') return 'latest';
  if (raw === 'none') return 'none';
  const id = Number(raw);
  if (!Number.isInteger(id) || id < 1) throw new ConfigError('FROM_CHECKPOINT (--from-checkpoint)', `must be 'latest', 'none' or a checkpoint id, got '${raw}'`);
  return id;
}
