import type { RemoteSplitFeed } from '../../runtime/split-group.js';
import { unpackBatch, type PackedKafkaBatch } from './kafka-batch-packing.js';
import { parsePartitionKey } from './kafka-positions.js';
import type { GroupBatchHandler, GroupPartitionControl, KafkaFeedControl, PartitionFeedSource } from './kafka-split-group.js';

/**
 * The group as a parallel subtask sees it: batches of its partitions arrive from the coordinator,
 * whose consumer fetches for every subtask; seeks, pauses and resumes go back to it. Offsets are
 * committed by the coordinator once a checkpoint of all subtasks completed, so `commit` does nothing here.
 */
export class RemoteKafkaGroup implements PartitionFeedSource {
  private handler: GroupBatchHandler | undefined;

  constructor(private readonly feed: RemoteSplitFeed) {
    feed.onDeliver((payload) => {
      const packed = payload as PackedKafkaBatch;
      // Off the port: the coordinator may fetch this partition again (FeedCredit).
      feed.send({ op: 'taken', partition: { topic: packed.topic, partition: packed.partition }, bytes: packed.data.byteLength } satisfies KafkaFeedControl);
      this.handler?.onBatch(unpackBatch(packed));
    });
    feed.onReassigned((splits) => this.handler?.onReassigned?.(splits.map(parsePartitionKey)));
  }

  attach(_generation: number, handler: GroupBatchHandler): GroupPartitionControl {
    this.handler = handler;
    const send = (control: KafkaFeedControl) => this.feed.send(control);
    return {
      seek: (position) => send({ op: 'seek', position }),
      pause: (partitions) => send({ op: 'pause', partitions: [...partitions] }),
      resume: (partitions) => send({ op: 'resume', partitions: [...partitions] }),
      commit: async () => undefined,
      detach: () => {
        this.handler = undefined;
      },
    };
  }
}
