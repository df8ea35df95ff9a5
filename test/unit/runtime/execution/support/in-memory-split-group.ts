/**
 * Group mode without Kafka, for unit tests of the runtime's hand-over protocol: an in-memory
 * topic of splits, a coordinator that assigns splits to members (calling each member's revoke
 * handler first, as a consumer group does — or not, to make a member a zombie), and a source
 * reading a member's assignment. The tests' sink is the real Iceberg sink on a local catalog.
 */
import { StaleAssignmentError, StreamlineError } from '../../../../../src/runtime/errors.js';
import { jsonSerializer } from '../../../../../src/runtime/serializer.js';
import type { Source, SourceBatch, SourceReader } from '../../../../../src/runtime/source.js';
import type { SplitAssignment, SplitGroup } from '../../../../../src/runtime/split-group.js';

/** A record of the in-memory topic: its key decides its split. */
export interface SplitRecord {
  readonly split: string;
  readonly offset: number;
  readonly key: string;
}

type Positions = Record<string, number>;

/** Splits `t:0` … `t:<n-1>`; a key `<split>/<name>` always lands in `<split>` (keys follow the partitioning). */
export class InMemoryTopic {
  readonly splits: readonly string[];
  private readonly logs = new Map<string, SplitRecord[]>();

  constructor(partitions: number) {
    this.splits = Array.from({ length: partitions }, (_, i) => `t:${i}`);
    for (const split of this.splits) this.logs.set(split, []);
  }

  /** Appends `count` records round-robin over the splits, keys cycling over `keysPerSplit` per split. */
  append(count: number, keysPerSplit = 3): void {
    for (let i = 0; i < count; i++) {
      const split = this.splits[i % this.splits.length]!;
      const log = this.logs.get(split)!;
      log.push({ split, offset: log.length, key: `${split}/k${log.length % keysPerSplit}` });
    }
  }

  read(split: string, from: number, max: number): SplitRecord[] {
    return this.logs.get(split)!.slice(from, from + max);
  }

  end(split: string): number {
    return this.logs.get(split)!.length;
  }

  get total(): number {
    return [...this.logs.values()].reduce((n, log) => n + log.length, 0);
  }
}

/** One member of the fake group. */
export class FakeMember implements SplitGroup {
  readonly handOverTimeoutMs = 10_000;
  private generation = 0;
  private taken = 0;
  private splits: readonly string[] | undefined;
  private readonly waiters = new Set<() => void>();
  private revoke: (() => Promise<void>) | undefined;
  left = false;

  constructor(readonly name: string) {}

  async nextAssignment(signal: AbortSignal): Promise<SplitAssignment> {
    for (;;) {
      if (signal.aborted) throw new StreamlineError('aborted');
      if (this.splits !== undefined && this.generation > this.taken) {
        this.taken = this.generation;
        return { generation: this.generation, splits: [...this.splits].sort() };
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          this.waiters.delete(done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.waiters.add(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  onRevoke(handler: () => Promise<void>): void {
    this.revoke = handler;
  }

  async leave(): Promise<void> {
    this.left = true;
  }

  /** The current assignment's generation, or throws when none is current (what a reader checks). */
  current(generation: number): readonly string[] {
    if (generation !== this.generation || this.splits === undefined) throw new StaleAssignmentError(`assignment ${generation} is no longer current`);
    return this.splits;
  }

  /** What the coordinator does before a rebalance: the member hands its splits over. */
  async revokeAll(): Promise<void> {
    this.splits = undefined;
    await this.revoke?.();
  }

  assign(splits: readonly string[]): void {
    this.generation++;
    this.splits = splits;
    for (const wake of [...this.waiters]) wake();
  }
}

/** Assigns splits to members like a consumer group with eager rebalancing. */
export class FakeGroupCoordinator {
  readonly members = new Map<string, FakeMember>();

  member(name: string): FakeMember {
    let member = this.members.get(name);
    if (member === undefined) this.members.set(name, (member = new FakeMember(name)));
    return member;
  }

  /** Every member in `plan` hands over (unless listed in `zombies`, which miss the rebalance), then gets its new splits. */
  async rebalance(plan: Readonly<Record<string, readonly string[]>>, zombies: readonly string[] = []): Promise<void> {
    await Promise.all(Object.keys(plan).filter((name) => !zombies.includes(name)).map((name) => this.member(name).revokeAll()));
    for (const [name, splits] of Object.entries(plan)) if (!zombies.includes(name)) this.member(name).assign(splits);
  }
}

/** The topic as a group-mode source of one member. */
export function inMemorySplitSource(topic: InMemoryTopic, member: FakeMember, options: { batchSize?: number } = {}): Source<SplitRecord, Positions> {
  const batchSize = options.batchSize ?? 25;
  return {
    kind: 'in-memory-splits',
    positionSerializer: jsonSerializer<Positions>(1),
    splits: { toSplits: (p) => ({ ...p }), fromSplits: (p) => ({ ...p }) },
    joinGroup: async () => member,
    createReader(): SourceReader<SplitRecord, Positions> {
      let splits: readonly string[] = [];
      const next = new Map<string, number>();
      let turn = 0;
      return {
        async open(context, restored) {
          if (context.assignment === undefined) throw new Error('this source runs in group mode only');
          splits = member.current(context.assignment.generation);
          for (const split of splits) next.set(split, restored?.[split] ?? 0);
        },
        async poll(): Promise<SourceBatch<SplitRecord> | 'idle'> {
          for (let i = 0; i < splits.length; i++) {
            const split = splits[(turn + i) % splits.length]!;
            const records = topic.read(split, next.get(split)!, batchSize);
            if (records.length === 0) continue;
            turn = (turn + i + 1) % splits.length;
            next.set(split, next.get(split)! + records.length);
            return { records, split };
          }
          await new Promise((r) => setTimeout(r, 2));
          return 'idle';
        },
        snapshot: () => Object.fromEntries(next),
        async notifyCheckpointComplete() {},
        async close() {},
      };
    },
  };
}
