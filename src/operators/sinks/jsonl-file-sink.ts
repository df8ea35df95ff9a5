import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { JobDefinitionError, StreamlineError } from '../../errors.js';
import { jsonSerializer } from '../../runtime/serializer.js';
import type { CommitRequest, Committer, SinkContext, SinkWriter, TwoPhaseCommitSink } from '../../runtime/sink.js';

/** Options of {@link jsonlFileSink}. */
export interface JsonlFileSinkOptions {
  /** Folder of the committed part files (created when missing). */
  readonly directory: string;
  /** File name prefix. Default `part`. */
  readonly prefix?: string;
}

/** One checkpoint's part file: written at `tempPath`, published by renaming it to `finalPath`. */
export interface JsonlCommittable {
  readonly tempPath: string;
  readonly finalPath: string;
}

/** A committable's temp file is gone but its final file does not exist either: its data is lost. */
export class MissingPartFileError extends StreamlineError {
  constructor(readonly committable: JsonlCommittable) {
    super(`part file lost: neither ${committable.tempPath} nor ${committable.finalPath} exists`, { retriable: false });
  }
}

/**
 * Exactly-once JSON-lines files through two-phase commit: the writer appends to a hidden
 * in-progress file per checkpoint; `prepareCommit` fsyncs and closes it; the committer renames it
 * to its final name once the checkpoint is complete. Readers see only final files
 * (`<prefix>-<writer>-<checkpoint>.jsonl`), so committed output has no loss and no duplicate
 * across crashes: a committable already renamed is recognized and skipped.
 *
 * @example stream.sink('out', jsonlFileSink({ directory: 'out/orders' }))
 */
export function jsonlFileSink<T>(options: JsonlFileSinkOptions): TwoPhaseCommitSink<T, JsonlCommittable> {
  const prefix = options.prefix ?? 'part';
  if (options.directory === '') throw new JobDefinitionError('jsonl file sink: directory must not be empty');
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix) || prefix.startsWith('.')) throw new JobDefinitionError(`jsonl file sink: prefix '${prefix}' must be a plain file name part`);
  return {
    kind: 'jsonl-file',
    committableSerializer: jsonSerializer<JsonlCommittable>(1),
    async createWriter(ctx) {
      await mkdir(options.directory, { recursive: true });
      return new JsonlFileWriter<T>(ctx, options.directory, prefix);
    },
    async createCommitter(ctx) {
      return new JsonlFileCommitter(ctx, options.directory);
    },
  };
}

class JsonlFileWriter<T> implements SinkWriter<T, JsonlCommittable> {
  /** Unique per writer, so a restarted job never reuses a crashed run's file names. */
  private readonly writerId = randomUUID().slice(0, 13);
  private handle: FileHandle | undefined;
  private tempPath = '';
  private sequence = 0;
  private readonly labels;

  constructor(
    private readonly ctx: SinkContext,
    private readonly directory: string,
    private readonly prefix: string,
  ) {
    this.labels = { job: ctx.jobName, operator: ctx.stepId };
  }

  async write(records: readonly T[]): Promise<void> {
    if (records.length === 0) return;
    if (this.handle === undefined) {
      this.tempPath = join(this.directory, `.${this.prefix}-${this.writerId}-${this.sequence++}.jsonl.inprogress`);
      this.handle = await open(this.tempPath, 'wx');
    }
    let text = '';
    for (let i = 0; i < records.length; i++) text += JSON.stringify(records[i], bigintAsString) + '\n';
    await this.handle.write(text);
    this.ctx.metrics.sinkRows.inc(this.labels, records.length);
    this.ctx.metrics.sinkBytes.inc(this.labels, Buffer.byteLength(text));
  }

  async prepareCommit(checkpointId: number): Promise<readonly JsonlCommittable[]> {
    const handle = this.handle;
    if (handle === undefined) return [];
    this.handle = undefined;
    await handle.sync();
    await handle.close();
    this.ctx.metrics.sinkFiles.inc(this.labels);
    const finalPath = join(this.directory, `${this.prefix}-${this.writerId}-${String(checkpointId).padStart(8, '0')}.jsonl`);
    return [{ tempPath: this.tempPath, finalPath }];
  }

  async close(): Promise<void> {
    const handle = this.handle;
    if (handle === undefined) return;
    this.handle = undefined;
    await handle.close();
    // Written after the last barrier: no checkpoint will ever commit it.
    await unlink(this.tempPath).catch(() => undefined);
  }
}

class JsonlFileCommitter implements Committer<JsonlCommittable> {
  constructor(
    private readonly ctx: SinkContext,
    private readonly directory: string,
  ) {}

  async commit(requests: readonly CommitRequest<JsonlCommittable>[]): Promise<void> {
    let renamed = 0;
    for (const request of requests) {
      for (const c of request.committables) {
        if (await publish(c)) renamed++;
      }
    }
    if (renamed > 0) {
      await syncDirectory(this.directory);
      this.ctx.metrics.sinkCommits.inc({ job: this.ctx.jobName, operator: this.ctx.stepId });
    }
  }

  async close(): Promise<void> {}
}

/** Renames temp → final; false when that already happened (a re-commit after restore). */
async function publish(c: JsonlCommittable): Promise<boolean> {
  try {
    await rename(c.tempPath, c.finalPath);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (await exists(c.finalPath)) return false;
  throw new MissingPartFileError(c);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Makes the renames durable (POSIX: a rename is persisted by syncing the directory). */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename itself is still atomic.
  } finally {
    await handle.close();
  }
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
