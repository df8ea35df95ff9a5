import type { Catalog } from '../../iceberg/catalog.js';
import { LocalCatalog } from '../../iceberg/local-catalog.js';
import { LocalFileIO } from '../../iceberg/local-file-io.js';
import { S3FileIO } from '../../iceberg/s3-file-io.js';
import { S3TablesCatalog } from '../../iceberg/s3-tables-catalog.js';
import type { CatalogSetting } from '../../operators/sinks/iceberg/catalog-from-settings.js';
import { DEFAULT_REMOTE_CALL_SETTINGS } from '../../remote/remote-call-settings.js';
import { DEFAULT_RETRY_POLICY } from '../../remote/retry-policy.js';
import { boundedS3Client, boundedS3TablesClient } from './aws-clients.js';

/** The catalog a run would use (same setting), with every AWS request bounded by `timeoutMs`. */
export function boundedCatalog(setting: CatalogSetting, settings: Readonly<Record<string, string | undefined>>, timeoutMs: number): Catalog {
  if (setting.kind === 'local') return new LocalCatalog({ warehouse: setting.warehouse, fileIO: new LocalFileIO() });
  return new S3TablesCatalog({
    tableBucketArn: setting.tableBucketArn,
    client: boundedS3TablesClient(settings, timeoutMs, setting.region),
    fileIO: new S3FileIO({ client: boundedS3Client(settings, timeoutMs, setting.region), calls: { ...DEFAULT_REMOTE_CALL_SETTINGS, retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 2 } } }),
  });
}
