/** Result of validating one parsed value; `zodSchema.safeParse` has exactly this shape. */
export type ValidationResult<T> =
  | { readonly success: true; readonly data: T }
  | { readonly success: false; readonly error: unknown };

/** Anything with a zod-style `safeParse` (a zod schema, or a hand-written validator). */
export interface RecordSchema<T> {
  safeParse(value: unknown): ValidationResult<T>;
}
