/**
 * AWS clients for the operator commands (`check`, `inspect`): the same endpoints and regions as a
 * run's (AWS_ENDPOINT_URL[_S3|_DYNAMODB], AWS_REGION), but every request bounded by a timeout and
 * tried at most twice, so an unreachable service is an answer within seconds, not a hang.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3TablesClient } from '@aws-sdk/client-s3tables';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../iceberg/s3-file-io.js';
import { awsDynamoDb, awsS3Tables } from '../../remote/aws-sdk.js';

type Settings = Readonly<Record<string, string | undefined>>;

function requestLimits(timeoutMs: number) {
  return { maxAttempts: 2, requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs } };
}

function regionOf(settings: Settings, fallback?: string): string | undefined {
  return settings.AWS_REGION || settings.AWS_DEFAULT_REGION || fallback;
}

/** S3 (checkpoint bucket, table files); path-style with an endpoint override (moto). */
export function boundedS3Client(settings: Settings, timeoutMs: number, region?: string): S3Client {
  const endpoint = settings.AWS_ENDPOINT_URL_S3 ?? settings.AWS_ENDPOINT_URL;
  const resolved = region ?? regionOf(settings);
  return createS3Client({ ...requestLimits(timeoutMs), ...(resolved ? { region: resolved } : {}), ...(endpoint ? { endpoint } : {}) });
}

/** S3 Tables in the table bucket's region. */
export function boundedS3TablesClient(settings: Settings, timeoutMs: number, region: string): S3TablesClient {
  const endpoint = settings.AWS_ENDPOINT_URL_S3TABLES ?? settings.AWS_ENDPOINT_URL;
  return new (awsS3Tables().S3TablesClient)({ ...requestLimits(timeoutMs), region, ...(endpoint ? { endpoint } : {}) });
}

/** DynamoDB (the HA table). */
export function boundedDynamoClient(settings: Settings, timeoutMs: number): DynamoDBClient {
  const endpoint = settings.AWS_ENDPOINT_URL_DYNAMODB ?? settings.AWS_ENDPOINT_URL;
  const region = regionOf(settings);
  return new (awsDynamoDb().DynamoDBClient)({ ...requestLimits(timeoutMs), ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) });
}
