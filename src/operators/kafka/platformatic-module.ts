/**
 * @platformatic/kafka, loaded on first use: importing it compiles its option validators, which
 * takes ~0.3 s — too much for every start of a job that uses kafkajs or no Kafka at all.
 */
export type PlatformaticKafka = typeof import('@platformatic/kafka');

/** The version this adapter was written and tested against (pinned exactly in package.json). */
export const SUPPORTED_PLATFORMATIC_VERSION = '1.35.0';

let loading: Promise<PlatformaticKafka> | undefined;

export function loadPlatformaticKafka(): Promise<PlatformaticKafka> {
  loading ??= import('@platformatic/kafka');
  return loading;
}
