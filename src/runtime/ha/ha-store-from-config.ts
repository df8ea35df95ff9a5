/**
 * Chooses the HA store: DYNAMODB_TABLE set → DynamoDbHaStore, otherwise the file-based store
 * under a local folder (the embedded default).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigError } from '../../errors.js';
import type { HaStore } from '../ha-store.js';
import type { Logger } from '../logger.js';
import { DynamoDbHaStore } from './dynamodb-ha-store.js';
import { LocalHaStore } from './local-ha-store.js';
import { awsClientOptions } from '../../remote/aws-client-options.js';
import { awsDynamoDb } from '../../remote/aws-sdk.js';
import { remoteCallSettings } from '../../remote/remote-call-settings.js';

/** Options of haStoreFromConfig. */
export interface HaStoreConfig {
  /** Folder of the local store when DYNAMODB_TABLE is not set. */
  readonly localDir: string;
  /** Environment holding DYNAMODB_TABLE, AWS_REGION, AWS_ENDPOINT_URL (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  readonly dynamoClient?: DynamoDBClient;
  readonly logger?: Logger;
  /** Create the DynamoDB table when it is missing (default true; inspection does not). */
  readonly createTable?: boolean;
}

const TABLE_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;

/** Creates the HA store the configuration asks for; throws ConfigError naming the bad setting. */
export function haStoreFromConfig(config: HaStoreConfig): HaStore {
  const env = config.env ?? process.env;
  const table = env.DYNAMODB_TABLE?.trim();
  if (table === undefined || table === '') return new LocalHaStore(config.localDir);
  if (!TABLE_NAME.test(table)) throw new ConfigError('DYNAMODB_TABLE', `'${table}' is not a valid table name (3-255 characters of [a-zA-Z0-9_.-])`);
  const calls = remoteCallSettings(env);
  let client = config.dynamoClient;
  if (client === undefined) {
    const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (region === undefined || region === '') throw new ConfigError('AWS_REGION', 'is required when DYNAMODB_TABLE is set');
    const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL;
    client = new (awsDynamoDb().DynamoDBClient)({ ...awsClientOptions(calls.timeouts), region, ...(endpoint ? { endpoint } : {}) });
  }
  return new DynamoDbHaStore({ client, tableName: table, logger: config.logger, retry: calls.retry, ...(config.createTable === false ? { createTable: false } : {}) });
}
