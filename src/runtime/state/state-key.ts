/** A key of keyed state: what `keyBy` returns. Strings and numbers hash and order the same everywhere (state files, key groups). */
export type StateKey = string | number;
