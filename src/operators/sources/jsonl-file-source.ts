import { open, type FileHandle } from 'node:fs/promises';
import { JobDefinitionError } from '../../errors.js';
import { jsonSerializer } from '../../runtime/serializer.js';
import type { Source, SourceBatch, SourceContext, SourceReader } from '../../runtime/source.js';

/** Options of {@link jsonlFileSource}. */
export interface JsonlFileSourceOptions {
  /** Files read in this order, each to its end (bounded input). */
  readonly paths: string | readonly string[];
  /** Records per poll at most. Default 1024. */
  readonly batchSize?: number;
  /** Bytes per file read. Default 1 MiB. */
  readonly readBufferBytes?: number;
}

/** Byte offset of the next unread line, per file path (as given in the options). */
export interface JsonlFilePosition {
  readonly offsets: Readonly<Record<string, number>>;
}

const NEWLINE = 0x0a;
const EMPTY = Buffer.alloc(0);

/**
 * JSON-lines file(s) as a bounded source. Positions are byte offsets per file, so a restore
 * resumes at the first line not yet handed downstream. A line that is not valid JSON goes to the
 * dead letters (`malformed_json`, with file and byte offset) — nothing is dropped; blank lines
 * are not records and are skipped.
 *
 * @example jsonlFileSource<Order>({ paths: ['orders-1.jsonl', 'orders-2.jsonl'] })
 */
export function jsonlFileSource<T = unknown>(options: JsonlFileSourceOptions): Source<T, JsonlFilePosition> {
  const paths = typeof options.paths === 'string' ? [options.paths] : [...options.paths];
  if (paths.length === 0) throw new JobDefinitionError('jsonl file source: paths must name at least one file');
  if (new Set(paths).size !== paths.length) throw new JobDefinitionError('jsonl file source: paths must be distinct');
  const batchSize = options.batchSize ?? 1024;
  const readBufferBytes = options.readBufferBytes ?? 1 << 20;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new JobDefinitionError(`jsonl file source: batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(readBufferBytes) || readBufferBytes < 1) throw new JobDefinitionError(`jsonl file source: readBufferBytes must be a positive integer`);
  return {
    kind: 'jsonl-file',
    positionSerializer: jsonSerializer<JsonlFilePosition>(1),
    createReader: () => new JsonlFileReader<T>(paths, batchSize, readBufferBytes),
  };
}

class JsonlFileReader<T> implements SourceReader<T, JsonlFilePosition> {
  private ctx!: SourceContext;
  private readonly offsets = new Map<string, number>();
  private fileIndex = 0;
  private handle: FileHandle | undefined;
  /** Bytes read from the current file but not yet consumed as lines. */
  private carry: Buffer = EMPTY;
  /** Where the next read of the current file starts. */
  private readOffset = 0;
  /** Where `carry` starts in the current file: the position after the last consumed line. */
  private lineOffset = 0;

  constructor(
    private readonly paths: readonly string[],
    private readonly batchSize: number,
    private readonly readBufferBytes: number,
  ) {}

  async open(ctx: SourceContext, restored: JsonlFilePosition | undefined): Promise<void> {
    this.ctx = ctx;
    for (const path of this.paths) this.offsets.set(path, restored?.offsets[path] ?? 0);
    this.fileIndex = 0;
    await this.openCurrent();
  }

  private async openCurrent(): Promise<void> {
    const path = this.paths[this.fileIndex];
    if (path === undefined) return;
    this.handle = await open(path, 'r');
    this.lineOffset = this.offsets.get(path) ?? 0;
    this.readOffset = this.lineOffset;
    this.carry = EMPTY;
  }

  async poll(): Promise<SourceBatch<T> | 'end' | 'idle'> {
    const records: T[] = [];
    let scanFrom = 0;
    while (records.length < this.batchSize && this.handle !== undefined) {
      const nl = this.carry.indexOf(NEWLINE, scanFrom);
      if (nl >= 0) {
        this.consume(this.carry.subarray(0, nl), nl + 1, records);
        this.carry = this.carry.subarray(nl + 1);
        scanFrom = 0;
        continue;
      }
      scanFrom = this.carry.length;
      const chunk = Buffer.allocUnsafe(this.readBufferBytes);
      const { bytesRead } = await this.handle.read(chunk, 0, chunk.length, this.readOffset);
      if (bytesRead > 0) {
        this.readOffset += bytesRead;
        this.carry = this.carry.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([this.carry, chunk.subarray(0, bytesRead)]);
        continue;
      }
      // End of this file: a last line without a newline is still a line.
      if (this.carry.length > 0) this.consume(this.carry, this.carry.length, records);
      this.carry = EMPTY;
      await this.handle.close();
      this.handle = undefined;
      this.fileIndex++;
      scanFrom = 0;
      await this.openCurrent();
    }
    if (records.length === 0 && this.handle === undefined) return 'end';
    return { records };
  }

  /** Parses one line (without its newline) and advances the position past it. */
  private consume(line: Buffer, length: number, records: T[]): void {
    const at = this.lineOffset;
    this.lineOffset += length;
    this.offsets.set(this.paths[this.fileIndex] as string, this.lineOffset);
    const text = line.toString('utf8');
    if (text.trim() === '') return;
    try {
      records.push(JSON.parse(text) as T);
    } catch (error) {
      const path = this.paths[this.fileIndex] as string;
      this.ctx.metrics.deadLetters.inc({ job: this.ctx.jobName, operator: this.ctx.stepId, reason: 'malformed_json' });
      this.ctx.deadLetters.send([
        { reason: 'malformed_json', detail: `${path} at byte ${at}: ${(error as Error).message}`, step: this.ctx.stepId, payload: Uint8Array.from(line) },
      ]);
    }
  }

  snapshot(): JsonlFilePosition {
    return { offsets: Object.fromEntries(this.offsets) };
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}
