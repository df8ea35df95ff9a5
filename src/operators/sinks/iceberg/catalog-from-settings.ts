import { isAbsolute, join, resolve } from 'node:path';
import type { Catalog } from '../../../iceberg/catalog.js';
import { LocalCatalog } from '../../../iceberg/local-catalog.js';
import { LocalFileIO } from '../../../iceberg/local-file-io.js';
import { S3TablesCatalog } from '../../../iceberg/s3-tables-catalog.js';
import type { S3TablesMaintenanceSettings } from '../../../iceberg/s3-tables-maintenance.js';
import { ConfigError } from '../../../errors.js';
import type { RemoteCallSettings } from '../../../remote/remote-call-settings.js';

const TABLE_BUCKET_ARN = /^arn:aws[a-z-]*:s3tables:([a-z0-9-]+):(\d{12}):bucket\/([a-z0-9][a-z0-9-]{1,61}[a-z0-9])$/;

/** Where the job's tables live, as configured. */
export type CatalogSetting = { readonly kind: 's3tables'; readonly tableBucketArn: string; readonly region: string } | { readonly kind: 'local'; readonly warehouse: string };

/**
 * `TABLE_BUCKET_ARN` set → S3 Tables; otherwise the local warehouse folder `WAREHOUSE`
 * (default `<work dir>/warehouse`). Validated at start with messages that name the setting.
 */
export function catalogSetting(settings: Readonly<Record<string, string | undefined>>, workDir: string): CatalogSetting {
  const arn = settings.TABLE_BUCKET_ARN?.trim();
  if (arn) {
    const match = TABLE_BUCKET_ARN.exec(arn);
    if (match === null) {
      if (/^arn:aws[a-z-]*:s3:::/.test(arn)) {
        throw new ConfigError(
          'TABLE_BUCKET_ARN (--table-bucket-arn)',
          `'${arn}' is a regular S3 bucket ARN. Iceberg tables go to an S3 *Tables* table bucket, whose ARN looks like arn:aws:s3tables:<region>:<account>:bucket/<name> (create one with 'aws s3tables create-table-bucket'). Regular buckets hold checkpoints: use them in CHECKPOINT_URI=s3://<bucket>/checkpoints.`,
        );
      }
      throw new ConfigError('TABLE_BUCKET_ARN (--table-bucket-arn)', `'${arn}' is not an S3 Tables table bucket ARN (expected arn:aws:s3tables:<region>:<account>:bucket/<name>).`);
    }
    const region = match[1]!;
    const configured = settings.AWS_REGION;
    if (configured && configured !== region) {
      throw new ConfigError('AWS_REGION (--aws-region)', `is '${configured}' but the table bucket is in '${region}' (from TABLE_BUCKET_ARN).`);
    }
    return { kind: 's3tables', tableBucketArn: arn, region };
  }
  const warehouse = settings.WAREHOUSE ? (isAbsolute(settings.WAREHOUSE) ? settings.WAREHOUSE : resolve(settings.WAREHOUSE)) : join(workDir, 'warehouse');
  return { kind: 'local', warehouse };
}

/** What an S3 Tables catalog does beyond commits: configure AWS's maintenance of the tables it creates, where its warnings go, and its calls' timeouts and retry policy. */
export interface CatalogExtras {
  readonly maintenance?: S3TablesMaintenanceSettings;
  readonly warn?: (message: string) => void;
  readonly calls?: RemoteCallSettings;
}

/** The catalog a setting names; S3 Tables (and its warehouse FileIO) with the process's timeouts and retry policy. */
export function createCatalog(setting: CatalogSetting, extras: CatalogExtras = {}): Catalog {
  if (setting.kind === 's3tables') return new S3TablesCatalog({ tableBucketArn: setting.tableBucketArn, clientConfig: { region: setting.region }, ...extras });
  return new LocalCatalog({ warehouse: setting.warehouse, fileIO: new LocalFileIO() });
}
