import type { Logger } from '../../runtime/logger.js';
import type { KafkaClient } from './kafka-client.js';
import type { KafkaConfig } from './kafka-config.js';
import { kafkaJsClient } from './kafkajs-client.js';
import { platformaticClient } from './platformatic-client.js';

/** The client KAFKA_CLIENT names (kafkajs by default). */
export function createKafkaClient(config: KafkaConfig, logger?: Logger): KafkaClient {
  return config.client === 'platformatic' ? platformaticClient(config, logger) : kafkaJsClient(config, logger);
}
