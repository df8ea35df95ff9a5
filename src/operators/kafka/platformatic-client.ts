import type { Logger } from '../../runtime/logger.js';
import type { Clock } from '../../runtime/time/clock.js';
import { systemClock } from '../../runtime/time/system-clock.js';
import { withDeadline } from './kafka-call-deadline.js';
import type { KafkaClient } from './kafka-client.js';
import type { KafkaConfig } from './kafka-config.js';
import { PlatformaticAdmin } from './platformatic-admin.js';
import { PlatformaticConsumer } from './platformatic-consumer.js';
import { loadPlatformaticKafka } from './platformatic-module.js';
import { toPlatformaticOptions } from './platformatic-options.js';
import { PlatformaticProducer } from './platformatic-producer.js';

/** Our client interface over @platformatic/kafka (KAFKA_CLIENT=platformatic); the library loads on first use. */
export function platformaticClient(config: KafkaConfig, logger?: Logger, clock: Clock = systemClock): KafkaClient {
  const base = toPlatformaticOptions(config);
  return {
    kind: 'platformatic',
    consumer: (options) => new PlatformaticConsumer(base, options, logger, clock),
    producer: (options) => new PlatformaticProducer(base, options?.idempotent ?? false, clock),
    admin: async () => {
      const kafka = await loadPlatformaticKafka();
      const admin = new kafka.Admin({ ...base });
      // Connects (and authenticates) now, as kafkajs' admin.connect() does.
      await withDeadline(admin.metadata({ topics: [] }), 30_000, 'connecting the admin client', clock).catch(async (error: unknown) => {
        await admin.close().catch(() => undefined);
        throw error;
      });
      return new PlatformaticAdmin(admin, clock);
    },
  };
}
