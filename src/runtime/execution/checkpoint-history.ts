/** One checkpoint as the history (and the web console) shows it. */
export interface CheckpointRecord {
  readonly id: number;
  /** Epoch millis. */
  readonly triggeredAt: number;
  /** The final checkpoint of a stop (or of bounded input). */
  readonly final: boolean;
  status: 'in-progress' | 'completed' | 'failed';
  completedAt?: number;
  durationMs?: number;
  /** From due to queued at the sources. */
  startDelayMs?: number;
  /** Trigger until every task acknowledged (barriers through the graph, alignment included). */
  syncMs?: number;
  /** Every task acknowledged until its state was durable (keyed state files, state objects). */
  asyncMs?: number;
  alignmentMs?: number;
  writtenBytes?: number;
  fullBytes?: number;
  /** Where the completed checkpoint is stored (its folder or prefix). */
  location?: string;
  failure?: string;
}

/** The most recent checkpoints, newest last, bounded. */
export class CheckpointHistory {
  private readonly records: CheckpointRecord[] = [];

  constructor(private readonly capacity: number) {}

  started(id: number, triggeredAt: number, final: boolean): void {
    this.records.push({ id, triggeredAt, final, status: 'in-progress' });
    if (this.records.length > this.capacity) this.records.shift();
  }

  update(id: number, fields: Partial<Omit<CheckpointRecord, 'id'>>): void {
    const record = this.find(id);
    if (record !== undefined) Object.assign(record, fields);
  }

  completed(id: number, fields: Partial<Omit<CheckpointRecord, 'id' | 'status'>>): void {
    this.update(id, { ...fields, status: 'completed' });
  }

  failed(id: number, failure: string): void {
    this.update(id, { status: 'failed', failure });
  }

  /** Copies, oldest first. */
  list(): CheckpointRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  private find(id: number): CheckpointRecord | undefined {
    for (let i = this.records.length - 1; i >= 0; i--) if (this.records[i]!.id === id) return this.records[i];
    return undefined;
  }
}
