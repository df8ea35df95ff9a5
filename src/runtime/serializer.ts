import { bigintReplacer, bigintReviver } from './bigint-json.js';

/**
 * Versioned serialization for anything stored in a checkpoint (operator state, committables,
 * source positions). The version is written beside the bytes so that a newer release can still
 * read an older checkpoint, as Flink's `SimpleVersionedSerializer`.
 */
export interface VersionedSerializer<T> {
  readonly version: number;
  serialize(value: T): Uint8Array;
  deserialize(version: number, bytes: Uint8Array): T;
}

/** JSON with bigint support; enough for positions, committables and small state. */
export function jsonSerializer<T>(version = 1): VersionedSerializer<T> {
  return {
    version,
    serialize: (value) => new TextEncoder().encode(JSON.stringify(value, bigintReplacer)),
    deserialize: (v, bytes) => {
      if (v !== version) throw new Error(`unsupported serializer version ${v} (this build reads ${version})`);
      return JSON.parse(new TextDecoder().decode(bytes), bigintReviver) as T;
    },
  };
}
