/** The typed arrays keyed state grows as it fills (heap rows and columns, the changelog's record index). */
export type GrowableArray = Uint16Array | Int32Array | Uint32Array | Float64Array;

/** A copy of `array` with room for `capacity` elements, the rest zeroed; the caller keeps the copy instead. */
export function grown<A extends GrowableArray>(array: A, capacity: number): A {
  const copy = new (array.constructor as new (length: number) => A)(capacity);
  copy.set(array);
  return copy;
}
