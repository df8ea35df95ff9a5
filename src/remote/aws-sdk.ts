/**
 * The AWS SDK clients and the MSK IAM signer, loaded on first use. Loading one costs 60–110 ms
 * and 15–20 MiB of RSS in every thread that does; a run on the embedded defaults (local
 * checkpoints, warehouse and HA store) uses none of them, and a Parquet or snapshot worker needs
 * S3 only when its files are there. They are CommonJS packages, so a synchronous `require` loads
 * them where a constructor needs them, and the same module instance serves an `import` of them.
 *
 * Code outside this module imports only types from these packages (`import type`); a value
 * import would load the package with the importing module, in every thread that imports it.
 */
import { createRequire } from 'node:module';

type S3Sdk = typeof import('@aws-sdk/client-s3');
type DynamoDbSdk = typeof import('@aws-sdk/client-dynamodb');
type S3TablesSdk = typeof import('@aws-sdk/client-s3tables');
type MskIamSigner = typeof import('aws-msk-iam-sasl-signer-js');

const load = createRequire(import.meta.url);

let s3: S3Sdk | undefined;
let dynamoDb: DynamoDbSdk | undefined;
let s3Tables: S3TablesSdk | undefined;
let mskSigner: MskIamSigner | undefined;

/** `@aws-sdk/client-s3`: checkpoints, data files and their uploads in S3. */
export function awsS3(): S3Sdk {
  return (s3 ??= load('@aws-sdk/client-s3') as S3Sdk);
}

/** `@aws-sdk/client-dynamodb`: the HA store's lease and checkpoint pointer. */
export function awsDynamoDb(): DynamoDbSdk {
  return (dynamoDb ??= load('@aws-sdk/client-dynamodb') as DynamoDbSdk);
}

/** `@aws-sdk/client-s3tables`: the S3 Tables catalog and its maintenance settings. */
export function awsS3Tables(): S3TablesSdk {
  return (s3Tables ??= load('@aws-sdk/client-s3tables') as S3TablesSdk);
}

/** `aws-msk-iam-sasl-signer-js`: OAUTHBEARER tokens for Amazon MSK IAM auth. */
export function awsMskIamSigner(): MskIamSigner {
  return (mskSigner ??= load('aws-msk-iam-sasl-signer-js') as MskIamSigner);
}
