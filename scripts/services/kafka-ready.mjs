// Exits 0 when the Kafka broker at argv[2] (host:port) answers a metadata request, 1 otherwise.
// Used by scripts/services/kafka.sh as the health check; kafkajs is what our own code speaks.
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const broker = process.argv[2] ?? '127.0.0.1:9092';
const kafka = new Kafka({
  clientId: 'streamline-services-health',
  brokers: [broker],
  connectionTimeout: 2000,
  requestTimeout: 3000,
  retry: { retries: 0 },
  logLevel: logLevel.NOTHING,
});
const admin = kafka.admin();
try {
  await admin.connect();
  // listTopics issues a Metadata request: the broker is up and has joined its KRaft quorum.
  await admin.listTopics();
  const cluster = await admin.describeCluster();
  if (cluster.brokers.length === 0) throw new Error('no brokers in metadata');
  process.exitCode = 0;
} catch (error) {
  console.error(`kafka not ready at ${broker}: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await admin.disconnect().catch(() => {});
}
