/**
 * Avro record fields carrying Iceberg field ids, as every Iceberg Avro schema (manifest entry,
 * manifest list, partition tuple) declares them; readers match fields by `field-id`, not name.
 */

/** A required field: `{ name, type, field-id }`. */
export function requiredField(type: unknown, id: number, name: string): object {
  return { name, type, 'field-id': id };
}

/** An optional field: a `['null', type]` union defaulting to null. */
export function optionalField(type: unknown, id: number, name: string): object {
  return { name, type: ['null', type], default: null, 'field-id': id };
}
