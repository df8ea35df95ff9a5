/**
 * A partition value as people read it (Iceberg's "human string" of a transform result): `day`
 * as `2026-11-01`, `hour` as `2026-11-01-10`, `month` as `2026-11`, `year` as `2026`; other
 * values as they are, binary as hex.
 */
import type { PartitionValue } from './data-file.js';

export function partitionValueText(value: PartitionValue, transform: string): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  const n = Number(value);
  if (transform === 'day') return new Date(n * 86_400_000).toISOString().slice(0, 10);
  if (transform === 'hour') return new Date(n * 3_600_000).toISOString().slice(0, 13).replace('T', '-');
  if (transform === 'month') return `${1970 + Math.floor(n / 12)}-${String((((n % 12) + 12) % 12) + 1).padStart(2, '0')}`;
  if (transform === 'year') return String(1970 + n);
  return String(value);
}
