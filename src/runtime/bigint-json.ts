/**
 * JSON.stringify / JSON.parse hooks that carry bigints as `{"$bigint": "…"}`, the one encoding
 * every checkpointed JSON (serializer values, keyed state snapshots) uses, so they read each other.
 */

/** JSON.stringify replacer: a bigint becomes `{ $bigint: decimal string }`. */
export function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? { $bigint: value.toString() } : value;
}

/** JSON.parse reviver: an object whose only key is `$bigint` becomes that bigint. */
export function bigintReviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && '$bigint' in value && Object.keys(value).length === 1) {
    return BigInt((value as { $bigint: string }).$bigint);
  }
  return value;
}
