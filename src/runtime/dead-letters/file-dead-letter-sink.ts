import { mkdirSync, openSync, writeSync, fsyncSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DeadLetter, DeadLetterSink } from '../dead-letter.js';

/**
 * Dead letters as JSON lines in a local file (the embedded default). Each line keeps the reason,
 * the step, the origin and the original payload; `flush` fsyncs so a checkpoint never completes
 * before the dead letters it skips over are on disk.
 */
export class FileDeadLetterSink implements DeadLetterSink {
  private fd: number | undefined;
  private buffered: string[] = [];

  constructor(readonly path: string) {}

  get location(): string {
    return this.path;
  }

  send(letters: readonly DeadLetter[]): void {
    const at = new Date().toISOString();
    for (const letter of letters) {
      this.buffered.push(
        JSON.stringify({
          at,
          reason: letter.reason,
          detail: letter.detail,
          step: letter.step,
          origin: letter.origin,
          payload: typeof letter.payload === 'string' ? letter.payload : Buffer.from(letter.payload).toString('utf8'),
        }) + '\n',
      );
    }
    if (this.buffered.length >= 1000) this.write();
  }

  async flush(): Promise<void> {
    this.write();
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private write(): void {
    if (this.buffered.length === 0) return;
    if (this.fd === undefined) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, 'a');
    }
    writeSync(this.fd, this.buffered.join(''));
    this.buffered = [];
  }
}
