/**
 * A zod 4 schema compiled into plain JavaScript: one generated function per object, array or
 * union, with the checks written out inline, no issue objects, no payloads and no contexts.
 *
 * It is a fast path, not a second validator: it returns the parsed value only where zod would
 * return that same value, and `REJECTED` wherever it is unsure. The caller then asks zod, which
 * decides and names the issue. So a construct this compiler does not know (a record, a default,
 * a discriminated union…) costs a call to that sub-schema's own `safeParse`, and a check it cannot
 * prove in one step (say a minimum string length in code points) may reject a value zod accepts;
 * neither changes what is accepted. The schema is read from its `_zod.def` (zod's documented
 * introspection surface); no zod code is imported.
 */

/** What the fast path returns when zod has to decide. */
export const REJECTED: unique symbol = Symbol('rejected');

/** The compiled schema: the value as zod would output it, or REJECTED. */
export type FastPath = (value: unknown) => unknown;

interface ZodDef {
  readonly type: string;
  readonly checks?: readonly ZodLike[];
  readonly check?: string;
  readonly coerce?: boolean;
  readonly [key: string]: unknown;
}

interface ZodLike {
  readonly _zod: { readonly def: ZodDef; readonly values?: ReadonlySet<unknown> };
  safeParse?(value: unknown): { success: boolean; data?: unknown };
}

/** String formats whose whole check is their pattern (zod's own check for them is `pattern.test`). */
const PATTERN_FORMATS = new Set(['regex', 'datetime', 'date', 'time', 'uuid', 'guid', 'email']);

const NUMBER_FORMATS: Record<string, readonly [number, number, boolean]> = {
  safeint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true],
  int32: [-2147483648, 2147483647, true],
  uint32: [0, 4294967295, true],
  float32: [-3.4028234663852886e38, 3.4028234663852886e38, false],
  float64: [-Number.MAX_VALUE, Number.MAX_VALUE, false],
};

function isZod(schema: unknown): schema is ZodLike {
  const def = (schema as ZodLike | null)?._zod?.def;
  return typeof def === 'object' && def !== null && typeof def.type === 'string';
}

/** Code points of a string (a surrogate pair counts once), as zod counts string lengths. */
function codePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/**
 * What a transform is handed in place of zod's payload: the value, `issues` and `addIssue`. The
 * issue list and the bound `addIssue` are made only when a transform asks for them, so a transform
 * that succeeds costs one small object.
 */
class TransformContext {
  private list: unknown[] | undefined;

  constructor(readonly value: unknown) {}

  get issues(): unknown[] {
    return (this.list ??= []);
  }

  get addIssue(): (issue: unknown) => void {
    return (issue) => {
      this.issues.push(issue);
    };
  }

  /** True when the transform reported an issue (zod then decides and describes it). */
  get failed(): boolean {
    return this.list !== undefined && this.list.length !== 0;
  }
}

/** Thrown while compiling a node the fast path does not model; that node is delegated to zod. */
class Unsupported extends Error {}

/** Generates the body of one function of `v`; sub-functions and constants are passed in `k`. */
class FunctionBuilder {
  private readonly lines: string[] = [];
  private next = 0;

  constructor(private readonly constants: unknown[]) {}

  constant(value: unknown): string {
    this.constants.push(value);
    return `k[${this.constants.length - 1}]`;
  }

  temp(): string {
    return `t${this.next++}`;
  }

  line(code: string): void {
    this.lines.push(code);
  }

  /** Where the lines stand, to drop what a node emitted before it turned out unsupported. */
  mark(): number {
    return this.lines.length;
  }

  rewind(mark: number, next: number): void {
    this.lines.length = mark;
    this.next = next;
  }

  get counter(): number {
    return this.next;
  }

  source(result: string): string {
    return `${this.lines.join('\n')}\nreturn ${result};`;
  }
}

/** Compiles a zod 4 schema, or returns undefined when `schema` is not one. */
export function compileZodFastPath(schema: unknown): FastPath | undefined {
  if (!isZod(schema)) return undefined;
  try {
    return compileFunction(schema);
  } catch (error) {
    // A schema without safeParse at a node this compiler does not model: zod alone validates.
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

function compileFunction(schema: ZodLike): FastPath {
  const constants: unknown[] = [REJECTED];
  const builder = new FunctionBuilder(constants);
  const result = emit(builder, schema, 'v');
  const body = `return function fastPath(v) {\ntry {\n${builder.source(result)}\n} catch (e) { return F; }\n};`;
  // Parameters: the constants array and the sentinel; the try/catch sends a throwing user function (a transform
  // or refinement given an unexpected value) to zod, which decides what its throw means.
  return new Function('k', 'F', body)(constants, REJECTED) as FastPath;
}

/** Emits the checks and conversions of `schema` applied to the expression `input`; returns the output's expression. */
function emit(b: FunctionBuilder, schema: ZodLike, input: string): string {
  const mark = b.mark();
  const counter = b.counter;
  try {
    const { output, as } = emitNode(b, schema, input);
    // zod runs a schema's checks on what it parsed (a refinement of an object sees the stripped, transformed copy).
    emitChecks(b, schema._zod.def, output, as);
    return output;
  } catch (error) {
    if (!(error instanceof Unsupported)) throw error;
    // Delegated: this sub-schema's own safeParse decides, and only its success is taken.
    b.rewind(mark, counter);
    if (typeof schema.safeParse !== 'function') throw error;
    const parse = b.constant(schema);
    const r = b.temp();
    b.line(`const ${r} = ${parse}.safeParse(${input}); if (!${r}.success) return F;`);
    return `${r}.data`;
  }
}

function emitNode(b: FunctionBuilder, schema: ZodLike, input: string): { output: string; as: CheckedAs } {
  const def = schema._zod.def;
  if (def.coerce) throw new Unsupported();
  switch (def.type) {
    case 'string':
      b.line(`if (typeof ${input} !== 'string') return F;`);
      return { output: input, as: 'string' };
    case 'number':
      b.line(`if (typeof ${input} !== 'number' || !Number.isFinite(${input})) return F;`);
      return { output: input, as: 'number' };
    case 'boolean':
      b.line(`if (typeof ${input} !== 'boolean') return F;`);
      return { output: input, as: 'other' };
    case 'null':
      b.line(`if (${input} !== null) return F;`);
      return { output: input, as: 'other' };
    case 'literal':
    case 'enum': {
      const values = schema._zod.values;
      if (!(values instanceof Set)) throw new Unsupported();
      b.line(`if (!${b.constant(values)}.has(${input})) return F;`);
      return { output: input, as: 'other' };
    }
    case 'unknown':
    case 'any':
      return { output: input, as: 'other' };
    case 'optional': {
      const inner = def.innerType as ZodLike;
      if (!isZod(inner) || optin(inner) === 'defaulted') throw new Unsupported();
      return { output: emitUnless(b, inner, input, 'undefined'), as: 'other' };
    }
    case 'nullable': {
      const inner = def.innerType as ZodLike;
      if (!isZod(inner)) throw new Unsupported();
      return { output: emitUnless(b, inner, input, 'null'), as: 'other' };
    }
    case 'pipe': {
      const from = def.in as ZodLike;
      const to = def.out as ZodLike;
      if (!isZod(from) || !isZod(to)) throw new Unsupported();
      const middle = b.temp();
      b.line(`const ${middle} = ${emit(b, from, input)};`);
      return { output: emit(b, to, middle), as: 'other' };
    }
    case 'transform': {
      if (typeof def.transform !== 'function') throw new Unsupported();
      // zod hands a transform its payload, with addIssue; an issue or a promise means zod must decide.
      const ctx = b.temp();
      const out = b.temp();
      b.line(`const ${ctx} = new ${b.constant(TransformContext)}(${input});`);
      b.line(`const ${out} = ${b.constant(def.transform)}(${input}, ${ctx});`);
      b.line(`if (${ctx}.failed || ${out} instanceof Promise) return F;`);
      return { output: out, as: 'other' };
    }
    case 'array': {
      const element = def.element as ZodLike;
      if (!isZod(element)) throw new Unsupported();
      b.line(`if (!Array.isArray(${input})) return F;`);
      const each = b.constant(compileFunction(element));
      const out = b.temp();
      b.line(`const ${out} = new Array(${input}.length);`);
      b.line(`for (let i = 0; i < ${input}.length; i++) { const r = ${each}(${input}[i]); if (r === F) return F; ${out}[i] = r; }`);
      return { output: out, as: 'array' };
    }
    case 'union': {
      const options = def.options as readonly ZodLike[];
      // A discriminated union picks one option by its key, and xor wants exactly one match: first success is not theirs.
      if (def.discriminator !== undefined || def.inclusive === false || !Array.isArray(options) || !options.every(isZod)) throw new Unsupported();
      if (options.length === 1) return { output: emit(b, options[0]!, input), as: 'other' };
      const out = b.temp();
      b.line(`let ${out} = F;`);
      for (const option of options) b.line(`if (${out} === F) ${out} = ${b.constant(compileFunction(option))}(${input});`);
      b.line(`if (${out} === F) return F;`);
      return { output: out, as: 'other' };
    }
    case 'object':
      return { output: emitObject(b, def, input), as: 'other' };
    default:
      throw new Unsupported();
  }
}

/** Optional and nullable: `passed` (undefined or null) goes through as it is, anything else is `inner`'s. */
function emitUnless(b: FunctionBuilder, inner: ZodLike, input: string, passed: 'undefined' | 'null'): string {
  const out = b.temp();
  b.line(`let ${out} = ${passed};`);
  b.line(`if (${input} !== ${passed}) {`);
  b.line(`${out} = ${emit(b, inner, input)};`);
  b.line('}');
  return out;
}

function optin(schema: ZodLike): unknown {
  return (schema._zod as { optin?: unknown }).optin;
}

function emitObject(b: FunctionBuilder, def: ZodDef, input: string): string {
  // Unknown keys are stripped (zod's default); a passthrough or strict object is zod's to decide.
  if (def.catchall !== undefined) throw new Unsupported();
  const shape = def.shape as Record<string, ZodLike> | undefined;
  if (typeof shape !== 'object' || shape === null || Object.getOwnPropertySymbols(shape).length > 0) throw new Unsupported();
  b.line(`if (typeof ${input} !== 'object' || ${input} === null || Array.isArray(${input})) return F;`);
  const out = b.temp();
  b.line(`const ${out} = {};`);
  for (const key of Object.keys(shape)) {
    const field = shape[key]!;
    if (!isZod(field) || key === '__proto__') throw new Unsupported();
    const name = JSON.stringify(key);
    const value = b.temp();
    if (field._zod.def.type === 'optional') {
      // An absent key stays absent in the output; one present (even as undefined) is kept. A defaulted
      // field would fill an absent key in: that object is zod's.
      if (optin(field) !== 'optional') throw new Unsupported();
      b.line(`if (${name} in ${input}) {`);
      b.line(`const ${value} = ${input}[${name}];`);
      b.line(`${out}[${name}] = ${emit(b, field, value)};`);
      b.line('}');
    } else {
      // A required key that is absent may still be accepted by zod (a field that takes undefined): zod decides.
      b.line(`if (!(${name} in ${input})) return F;`);
      b.line(`const ${value} = ${input}[${name}];`);
      b.line(`${out}[${name}] = ${emit(b, field, value)};`);
    }
  }
  return out;
}

/** A length bound written into the generated code: only a plain integer is. */
function integerOf(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new Unsupported();
  return value;
}

type CheckedAs = 'string' | 'number' | 'array' | 'other';

/** The node's own check (a format schema is its own check) and its `checks`, each inline. */
function emitChecks(b: FunctionBuilder, def: ZodDef, input: string, as: CheckedAs): void {
  if (def.check !== undefined) emitCheck(b, def, input, as);
  for (const check of def.checks ?? []) {
    // A check's def has no `type` (a refinement's does): only its `check` kind matters here.
    const checkDef = (check as ZodLike | null)?._zod?.def;
    if (typeof checkDef !== 'object' || checkDef === null) throw new Unsupported();
    emitCheck(b, checkDef, input, as);
  }
}

function emitCheck(b: FunctionBuilder, check: ZodDef, input: string, as: CheckedAs): void {
  switch (check.check) {
    case 'min_length': {
      const min = integerOf(check.minimum);
      if (as === 'array') b.line(`if (${input}.length < ${min}) return F;`);
      else if (as === 'string') b.line(`if (${input}.length < ${min} || (${input}.length < ${2 * min} && ${b.constant(codePoints)}(${input}) < ${min})) return F;`);
      else throw new Unsupported();
      return;
    }
    case 'max_length': {
      // UTF-16 units are never fewer than code points: within the units, zod (counting either) accepts.
      if (as !== 'array' && as !== 'string') throw new Unsupported();
      b.line(`if (${input}.length > ${integerOf(check.maximum)}) return F;`);
      return;
    }
    case 'length_equals': {
      const length = integerOf(check.length);
      if (as === 'array') b.line(`if (${input}.length !== ${length}) return F;`);
      else if (as === 'string') b.line(`if (${b.constant(codePoints)}(${input}) !== ${length}) return F;`);
      else throw new Unsupported();
      return;
    }
    case 'greater_than':
    case 'less_than': {
      if (as !== 'number' || typeof check.value !== 'number') throw new Unsupported();
      const bound = b.constant(check.value);
      const op = check.check === 'greater_than' ? (check.inclusive ? '>=' : '>') : check.inclusive ? '<=' : '<';
      b.line(`if (!(${input} ${op} ${bound})) return F;`);
      return;
    }
    case 'number_format': {
      const range = NUMBER_FORMATS[(check.format as string | undefined) ?? 'float64'];
      if (as !== 'number' || range === undefined) throw new Unsupported();
      const [min, max, integer] = range;
      if (integer) b.line(`if (!Number.isSafeInteger(${input})) return F;`);
      b.line(`if (${input} < ${b.constant(min)} || ${input} > ${b.constant(max)}) return F;`);
      return;
    }
    case 'string_format': {
      const pattern = check.pattern;
      if (as !== 'string' || !PATTERN_FORMATS.has(check.format as string) || !(pattern instanceof RegExp)) throw new Unsupported();
      const re = b.constant(pattern);
      b.line(`${re}.lastIndex = 0; if (!${re}.test(${input})) return F;`);
      return;
    }
    case 'custom': {
      // A refinement: a falsy answer (or a promise, which only zod's async parse can wait for) is zod's to report.
      if (typeof check.fn !== 'function') throw new Unsupported();
      const r = b.temp();
      b.line(`const ${r} = ${b.constant(check.fn)}(${input}); if (!${r} || ${r} instanceof Promise) return F;`);
      return;
    }
    default:
      throw new Unsupported();
  }
}
