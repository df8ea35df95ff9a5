import { ConfigError } from '../../errors.js';
import type { Source } from '../../runtime/source.js';
import { createKafkaClient } from './kafka-client-factory.js';
import { kafkaPositionsSerializer, kafkaSplitPositions, type KafkaPositions } from './kafka-positions.js';
import { fetchOptions, type KafkaSourceOptions } from './kafka-source-options.js';
import { KafkaSourceReader } from './kafka-source-reader.js';
import { KafkaSplitGroup, type PartitionFeedSource } from './kafka-split-group.js';
import { RemoteKafkaGroup } from './remote-kafka-group.js';

export type { KafkaSourceOptions } from './kafka-source-options.js';
export { KafkaSourceReader } from './kafka-source-reader.js';

/**
 * A Kafka topic as a job source: parsed, validated records of type `T`; positions are offsets,
 * splits are partitions. Alone (standby mode) each reader runs its own group consumer; in group
 * mode the instance joins the group once (`joinGroup`) and each run reads its assignment through it.
 */
export function kafkaSource<T>(options: KafkaSourceOptions<T>): Source<T, KafkaPositions> {
  const topic = options.config.topic ?? options.topic;
  if (topic === undefined) throw new ConfigError('KAFKA_TOPIC', 'no topic configured and the job declares none');
  let group: PartitionFeedSource | undefined;
  return {
    kind: 'kafka',
    positionSerializer: kafkaPositionsSerializer,
    splits: kafkaSplitPositions,
    async joinGroup(ctx) {
      const client = (options.client ?? createKafkaClient)(options.config, ctx.logger);
      const joined = await KafkaSplitGroup.join(client, options.config, topic, ctx.logger.child({ step: ctx.stepId }), fetchOptions(options));
      group = joined;
      return joined;
    },
    useRemoteFeed(feed) {
      group = new RemoteKafkaGroup(feed);
    },
    createReader: () => new KafkaSourceReader<T>(options, topic, () => group),
  };
}
