import type { RecordSchema } from '../record-schema.js';
import { compileZodFastPath, REJECTED } from './zod-fast-path.js';

/**
 * The schema's own `safeParse` behind the compiled fast path (zod-fast-path.ts): a record the fast
 * path accepts is returned as zod would return it, at a fraction of zod's cost; every other record,
 * valid or not, goes to the schema itself, which decides and names the issue. A schema that is
 * not zod 4 is returned as it is.
 */
export function withFastPath<T>(schema: RecordSchema<T>): RecordSchema<T> {
  const fast = compileZodFastPath(schema);
  if (fast === undefined) return schema;
  return {
    safeParse(value) {
      const parsed = fast(value);
      return parsed === REJECTED ? schema.safeParse(value) : { success: true, data: parsed as T };
    },
  };
}
