/**
 * Group mode without Kafka, for unit tests of the runtime's hand-over protocol: an in-memory
 * topic of splits, a coordinator that assigns splits to members (calling each member's revoke
 * handler first, as a consumer group does — or not, to make a member a zombie), and a source
 * reading a member's assignment (or, without a member, every split). The tests' sink is the real
 * Iceberg sink on a local catalog.
 */
import { AssignmentMailbox } from '../../../../../src/runtime/assignment-mailbox.js';
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
  /** The group's patience with a hand-over (a test may shorten it). */
  handOverTimeoutMs = 10_000;
  private readonly mailbox = new AssignmentMailbox();
  private revoke: (() => Promise<void>) | undefined;
  left = false;

  constructor(readonly name: string) {}

  nextAssignment(signal: AbortSignal): Promise<SplitAssignment> {
    return this.mailbox.take(signal);
  }

  isCurrent(generation: number): boolean {
    return this.mailbox.isCurrent(generation);
  }

  onRevoke(handler: () => Promise<void>): void {
    this.revoke = handler;
  }

  async leave(): Promise<void> {
    this.left = true;
    this.mailbox.wakeAll();
  }

  /** The splits of `generation` while it is current, as a reader checks at open. */
  current(generation: number): readonly string[] {
    return this.mailbox.splitsOf(generation);
  }

  /** What the coordinator does before a rebalance: the member hands its splits over. */
  async revokeAll(): Promise<void> {
    this.mailbox.revoke();
    await this.revoke?.();
  }

  assign(splits: readonly string[]): void {
    this.mailbox.put(splits);
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

/** The topic as a source: of one member in group mode, of every split without a member (standby mode). */
export function inMemorySplitSource(topic: InMemoryTopic, member: FakeMember | undefined, options: { batchSize?: number } = {}): Source<SplitRecord, Positions> {
  const batchSize = options.batchSize ?? 25;
  return {
    kind: 'in-memory-splits',
    positionSerializer: jsonSerializer<Positions>(1),
    splits: { toSplits: (p) => ({ ...p }), fromSplits: (p) => ({ ...p }) },
    ...(member ? { joinGroup: async () => member } : {}),
    createReader(): SourceReader<SplitRecord, Positions> {
      let splits: readonly string[] = [];
      const next = new Map<string, number>();
      let turn = 0;
      return {
        async open(context, restored) {
          splits = context.assignment === undefined || member === undefined ? topic.splits : member.current(context.assignment.generation);
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
