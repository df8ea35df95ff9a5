/**
 * Errors raised by catalogs and commits. The table-format library knows nothing about the runtime,
 * so these carry their own `retriable` flag in the same spirit as the runtime's error classes.
 */

/** Base class of table-format errors. */
export class IcebergError extends Error {
  /** True when retrying the same operation later may succeed. */
  readonly retriable: boolean;

  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** The table (or its namespace) does not exist in the catalog. */
export class NoSuchTableError extends IcebergError {}

/**
 * The table changed under an optimistic commit (S3 Tables version-token mismatch, HTTP 409, or the
 * local pointer moved). Retriable: re-read, rebase, retry. Staged data files stay valid.
 */
export class CommitConflictError extends IcebergError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: true, ...options });
  }
}

/** The table metadata or a manifest is not valid for this library (e.g. unsupported format version). */
export class InvalidTableMetadataError extends IcebergError {}
