/**
 * The AWS SDK clients and the MSK IAM signer, loaded at first use (see runtime/lazy-package.ts):
 * loading one costs 60–110 ms and 15–20 MiB of RSS in every thread that does. A run on the
 * embedded defaults (local checkpoints, warehouse and HA store) uses none of them, and the
 * snapshot and Parquet workers need S3 only when their files are there. Code elsewhere imports
 * only types from these packages, and recognises a service's "not found" here, by its error
 * classes.
 */
import { lazyPackage } from '../runtime/lazy-package.js';
import { httpStatusOf } from './transient-failure.js';

/** `@aws-sdk/client-s3`: checkpoints, data files and their uploads in S3. */
export const awsS3 = lazyPackage<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3');

/** `@aws-sdk/client-dynamodb`: the HA store's lease and checkpoint pointer. */
export const awsDynamoDb = lazyPackage<typeof import('@aws-sdk/client-dynamodb')>('@aws-sdk/client-dynamodb');

/** `@aws-sdk/client-s3tables`: the S3 Tables catalog and its maintenance settings. */
export const awsS3Tables = lazyPackage<typeof import('@aws-sdk/client-s3tables')>('@aws-sdk/client-s3tables');

/** `aws-msk-iam-sasl-signer-js`: OAUTHBEARER tokens for Amazon MSK IAM auth. */
export const awsMskIamSigner = lazyPackage<typeof import('aws-msk-iam-sasl-signer-js')>('aws-msk-iam-sasl-signer-js');

/** S3 answered that the object is not there (GetObject's NoSuchKey, HeadObject's NotFound, or a bare 404). */
export function isS3NotFound(error: unknown): boolean {
  return error instanceof awsS3().NoSuchKey || error instanceof awsS3().NotFound || httpStatusOf(error) === 404;
}

/** S3 Tables answered that the table bucket, namespace or table is not there. */
export function isS3TablesNotFound(error: unknown): boolean {
  return error instanceof awsS3Tables().NotFoundException || httpStatusOf(error) === 404;
}
