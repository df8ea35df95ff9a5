import { RecordRejectedError } from '../../errors.js';
import type { RecordSchema } from '../../runtime/record-schema.js';
import { withFastPath } from '../../runtime/validation/fast-record-schema.js';

export type { RecordSchema, ValidationResult } from '../../runtime/record-schema.js';

export interface JsonDeserializerOptions<T> {
  /** Validates the parsed JSON; without it records pass through as parsed (typed `T` on trust). */
  readonly schema?: RecordSchema<T>;
  /** Records larger than this are rejected as `too_large` before parsing. Default 1 MiB. */
  readonly maxRecordBytes?: number;
}

/** Decodes one record's bytes into a validated `T`, or throws RecordRejectedError. */
export type JsonDeserializer<T> = (bytes: Uint8Array | null) => T;

export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;

/** Bytes → JSON → schema-validated `T`; every failure is a RecordRejectedError with its reason. */
export function jsonDeserializer<T>(options: JsonDeserializerOptions<T> = {}): JsonDeserializer<T> {
  const maxBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const schema = options.schema === undefined ? undefined : withFastPath(options.schema);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  return (bytes) => {
    if (bytes === null || bytes.length === 0) throw new RecordRejectedError('malformed_json', 'empty value');
    if (bytes.length > maxBytes) throw new RecordRejectedError('too_large', `record of ${bytes.length} bytes exceeds the limit of ${maxBytes}`);
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(bytes));
    } catch (error) {
      throw new RecordRejectedError('malformed_json', error instanceof Error ? error.message : String(error));
    }
    if (schema === undefined) return value as T;
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    throw new RecordRejectedError('schema_violation', describeSchemaError(result.error));
  };
}

const MAX_DETAIL = 500;

/** Short, value-free description of a validation error: paths and messages (zod issues when present). */
export function describeSchemaError(error: unknown): string {
  const issues = (error as { issues?: unknown } | null)?.issues;
  let text: string;
  if (Array.isArray(issues) && issues.length > 0) {
    text = issues
      .slice(0, 5)
      .map((issue: { path?: readonly PropertyKey[]; message?: string }) => {
        const path = issue.path && issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
        return `${path}: ${issue.message ?? 'invalid'}`;
      })
      .join('; ');
    if (issues.length > 5) text += `; and ${issues.length - 5} more`;
  } else if (error instanceof Error) {
    text = error.message;
  } else {
    text = String(error);
  }
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}…` : text;
}
