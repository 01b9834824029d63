// Pure helpers of the step input form (SchemaForm.tsx) and its expression fields (ExprInput.tsx):
// which editor a JSON Schema calls for, immutable updates that keep key order, field paths and
// which problems land on a shown field, and the text edits of `{{ path }}` completion.
//
// Nothing here validates or coerces by type: any field may hold an expression string instead of
// its schema's type, and validation is the server's job.

import type { Json } from '../types';
import type { JsonSchema } from './shared';

/** A schema that is an object (boolean schemas and absent ones describe "any JSON"). */
export type SchemaObject = { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** The editor a schema calls for; `generic` is a JSON text (or expression) editor. */
export type Kind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'object' | 'array' | 'generic';

/**
 * How a field shows its value: `typed` by its schema's control, `expr` as an expression string in
 * place of that type, `generic` as JSON (the value does not fit the schema's type, or there is no
 * usable type).
 */
export type Mode = 'typed' | 'expr' | 'generic';

export function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asObjectSchema(s: JsonSchema | Json | undefined): SchemaObject | undefined {
  return isPlainObject(s) ? s : undefined;
}

const SIMPLE_TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array'];

/** The kind of editor for `schema`. Unions (`anyOf`, `oneOf`, several types) get the generic one. */
export function schemaKind(schema: SchemaObject | undefined): Kind {
  if (!schema) return 'generic';
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return 'enum';
  if ('anyOf' in schema || 'oneOf' in schema || 'allOf' in schema || '$ref' in schema || 'const' in schema) return 'generic';
  let type = schema.type;
  if (Array.isArray(type)) {
    // `["string", "null"]`: a nullable type is edited as the type (a null value shows as JSON)
    const real = type.filter((t) => t !== 'null');
    type = real.length === 1 ? real[0] : null;
  }
  if (type === undefined) {
    if (isPlainObject(schema.properties)) type = 'object';
    else if ('items' in schema) type = 'array';
  }
  if (typeof type !== 'string' || !SIMPLE_TYPES.includes(type)) return 'generic';
  if (type === 'object') {
    // a form needs fields: declared properties, or a typed map (`additionalProperties: {type: string}`)
    const typedMap = schemaKind(asObjectSchema(schema.additionalProperties)) !== 'generic';
    return isPlainObject(schema.properties) || typedMap ? 'object' : 'generic';
  }
  return type as Kind;
}

/** The declared properties, in schema order. */
export function properties(schema: SchemaObject | undefined): [string, SchemaObject | undefined][] {
  const props = schema?.properties;
  if (!isPlainObject(props)) return [];
  return Object.entries(props).map(([k, s]) => [k, asObjectSchema(s)]);
}

export function requiredNames(schema: SchemaObject | undefined): Set<string> {
  const req = schema?.required;
  return new Set(Array.isArray(req) ? req.filter((r): r is string => typeof r === 'string') : []);
}

/** The schema of keys not among the properties (`additionalProperties` when it is an object). */
export function extraSchema(schema: SchemaObject | undefined): SchemaObject | undefined {
  return asObjectSchema(schema?.additionalProperties);
}

/** Whether the object may hold keys besides its properties. */
export function allowsExtra(schema: SchemaObject | undefined): boolean {
  return schema?.additionalProperties !== false;
}

export function itemSchema(schema: SchemaObject | undefined): SchemaObject | undefined {
  return asObjectSchema(schema?.items);
}

/** Structural equality of JSON values (object key order ignored). */
export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Whether `v` is a value of the kind (an expression string fits only `string`). */
export function fits(kind: Kind, schema: SchemaObject | undefined, v: Json | undefined): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'enum':
      return v !== undefined && Array.isArray(schema?.enum) && schema.enum.some((e) => jsonEqual(e, v));
    case 'object':
      return isPlainObject(v);
    case 'array':
      return Array.isArray(v);
    case 'generic':
      return true;
  }
}

/** How a field shows `value`; `fx` is the user's "use an expression" toggle for the field. */
export function fieldMode(kind: Kind, schema: SchemaObject | undefined, value: Json | undefined, fx: boolean): Mode {
  if (kind === 'generic') return 'generic';
  if (kind === 'string') return value === undefined || typeof value === 'string' ? 'typed' : 'generic';
  if (value === undefined) return fx ? 'expr' : 'typed';
  if (typeof value === 'string' && (fx || !fits(kind, schema, value))) return 'expr';
  return fits(kind, schema, value) ? 'typed' : 'generic';
}

/**
 * The value when a field leaves expression mode: the string itself if it fits (an enum's
 * string), else what it parses to as JSON if that fits (`"5"` → 5), else nothing.
 */
export function fromExpression(kind: Kind, schema: SchemaObject | undefined, text: string): Json | undefined {
  if (fits(kind, schema, text)) return text;
  try {
    const parsed = JSON.parse(text) as Json;
    if (fits(kind, schema, parsed)) return parsed;
  } catch {
    // not JSON: does not fit
  }
  return undefined;
}

/** The value of a new array item or added key of the kind. */
export function emptyValue(kind: Kind, schema: SchemaObject | undefined): Json {
  switch (kind) {
    case 'number':
    case 'integer':
      return 0;
    case 'boolean':
      return false;
    case 'object':
      return {};
    case 'array':
      return [];
    case 'enum':
      return Array.isArray(schema?.enum) ? schema.enum[0] : '';
    default:
      return '';
  }
}

/** A schema's `type` for a label (`integer`, `string`…), or nothing. */
export function typeLabel(schema: SchemaObject | undefined): string | undefined {
  const t = schema?.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string').join(' | ');
  return undefined;
}

// ---- paths -------------------------------------------------------------------------------------

export function childPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

export function itemPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/**
 * The spellings of a path a problem may use: the form's `items[0].name`, and the server's
 * schema errors' `items.0.name` (a JSON pointer with dots).
 */
export function pathAliases(path: string): string[] {
  const dotted = path.replace(/\[(\d+)\]/g, '.$1').replace(/^\./, '');
  return dotted === path ? [path] : [path, dotted];
}

export function problemAt(problems: Record<string, string>, path: string): string | undefined {
  for (const p of pathAliases(path)) if (Object.hasOwn(problems, p)) return problems[p];
  return undefined;
}

/**
 * The paths the form shows as fields (the root excluded), mirroring SchemaForm's rendering:
 * every property of a typed object (set or not), its other keys, every item of a typed array.
 */
export function shownPaths(schema: SchemaObject | undefined, value: Json | undefined, fx: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  const walk = (path: string, s: SchemaObject | undefined, v: Json | undefined) => {
    if (path !== '') out.add(path);
    const kind = schemaKind(s);
    if (fieldMode(kind, s, v, fx.has(path)) !== 'typed') return;
    if (kind === 'object') {
      const obj = isPlainObject(v) ? v : {};
      const known = new Set<string>();
      for (const [k, ps] of properties(s)) {
        known.add(k);
        walk(childPath(path, k), ps, Object.hasOwn(obj, k) ? obj[k] : undefined);
      }
      for (const k of Object.keys(obj)) if (!known.has(k)) walk(childPath(path, k), extraSchema(s), obj[k]);
    } else if (kind === 'array' && Array.isArray(v)) {
      v.forEach((item, i) => walk(itemPath(path, i), itemSchema(s), item));
    }
  };
  walk('', schema, value);
  return out;
}

/** The problems no shown field displays (the root's, and paths inside JSON or expressions). */
export function strayProblems(problems: Record<string, string>, shown: Set<string>): [string, string][] {
  const covered = new Set<string>();
  for (const p of shown) for (const a of pathAliases(p)) covered.add(a);
  return Object.entries(problems).filter(([p]) => !covered.has(p));
}

/** Whether any problem lies inside the field at `path`. */
export function hasProblemInside(problems: Record<string, string>, path: string): boolean {
  const prefixes = pathAliases(path).flatMap((p) => (p === '' ? [''] : [`${p}.`, `${p}[`]));
  return Object.keys(problems).some((k) => prefixes.some((pre) => k.startsWith(pre) && k !== pre));
}

// ---- object updates ----------------------------------------------------------------------------

/**
 * `obj` with `key` set to `v` (removed when `v` is undefined): an existing key keeps its place, a
 * new one goes last. `Object.fromEntries` makes even a `__proto__` key a plain own property.
 */
export function setKey(obj: JsonObject | undefined, key: string, v: Json | undefined): JsonObject {
  const entries = Object.entries(obj ?? {});
  const i = entries.findIndex(([k]) => k === key);
  if (v === undefined) {
    if (i < 0) return obj ?? {};
    entries.splice(i, 1);
  } else if (i < 0) {
    entries.push([key, v]);
  } else {
    entries[i] = [key, v];
  }
  return Object.fromEntries(entries);
}

/** `list` with items `i` and `j` swapped. */
export function swap<T>(list: T[], i: number, j: number): T[] {
  const next = list.slice();
  [next[i], next[j]] = [next[j], next[i]];
  return next;
}

// ---- expression text ---------------------------------------------------------------------------

/** Where a path completion applies: the text `from`–`to` is replaced; `partial` is typed so far. */
export interface CompletionAt {
  from: number;
  to: number;
  partial: string;
}

const OPEN_EXPRESSION = /\{\{\s*([\w.[\]]*)$/;
const PATH_CHARS = /^[\w.[\]]*/;

/**
 * The completion at `cursor`: the text before it ends with `{{` and an optional partial path.
 * The replaced range runs from just after `{{` over the rest of the path word after the cursor.
 */
export function completionAt(text: string, cursor: number): CompletionAt | null {
  const m = OPEN_EXPRESSION.exec(text.slice(0, cursor));
  if (!m) return null;
  const rest = PATH_CHARS.exec(text.slice(cursor))?.[0] ?? '';
  return { from: m.index + 2, to: cursor + rest.length, partial: m[1] };
}

export const MAX_COMPLETIONS = 50;

export function completionOptions(paths: string[], partial: string): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (p.startsWith(partial)) out.push(p);
    if (out.length >= MAX_COMPLETIONS) break;
  }
  return out;
}

/** `text` with the completion accepted: `{{ path }}`, closing braces added unless already there. */
export function applyCompletion(text: string, at: CompletionAt, path: string): { text: string; cursor: number } {
  const before = text.slice(0, at.from);
  let after = text.slice(at.to);
  const close = /^\s*\}\}/.exec(after);
  if (close) after = after.slice(close[0].length);
  const inserted = ` ${path} }}`;
  return { text: before + inserted + after, cursor: before.length + inserted.length };
}

/** `text` with `insert` replacing the selection `start`–`end` (clamped to the text). */
export function insertAt(text: string, start: number, end: number, insert: string): { text: string; cursor: number } {
  const s = Math.max(0, Math.min(start, text.length));
  const e = Math.max(s, Math.min(end, text.length));
  return { text: text.slice(0, s) + insert + text.slice(e), cursor: s + insert.length };
}

/** Whether `pos` in a JSON text lies inside a string literal. */
export function insideJsonString(text: string, pos: number): boolean {
  let inside = false;
  for (let i = 0; i < pos && i < text.length; i++) {
    const c = text[i];
    if (inside && c === '\\') i++;
    else if (c === '"') inside = !inside;
  }
  return inside;
}

/** A preview value as compact JSON, cut to `max` characters. */
export function previewText(v: Json | undefined, max = 200): string {
  if (v === undefined) return '(no value)';
  const s = JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
