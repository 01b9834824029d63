// Pure logic behind the YAML tab of the flow editor: what the cursor is in (a key or a value, at
// which path, inside which step), what the flow's JSON Schema allows there, and where a
// validation problem's path is in the text.
//
// The cursor side reads the text line by line (indentation, `- ` markers, `key:`, flow
// collections), so that it keeps working on the incomplete documents one has while typing.
// Locating problems uses the `yaml` library's node ranges: problems are reported for a document
// the server could parse.

import { isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import type { Json } from '../types';
import type { JsonSchema, Problem } from './shared';

/** One step of a path: a mapping key or a sequence index. */
export type Seg = string | number;

/** A source range, offsets into the text. */
export interface Range {
  from: number;
  to: number;
}

/** What the cursor is in. `from`/`prefix`: the word being typed, up to the cursor. */
export type CursorContext =
  /** Where a key of the mapping at `path` is expected. */
  | { kind: 'key'; path: Seg[]; from: number; prefix: string }
  /** In the value of `key` of the mapping (or the item `key` of the sequence) at `path`. */
  | { kind: 'value'; path: Seg[]; key: Seg; from: number; prefix: string }
  /** Anywhere else: in a comment, a block scalar, after a closed flow collection… */
  | { kind: 'other'; path: Seg[] };

/** A key found in the text, with the path it names and, for a scalar value, that value. */
export interface KeyEntry {
  path: Seg[];
  from: number;
  to: number;
  value: string | null;
}

// ---------------------------------------------------------------------------------------------
// The line scanner

interface Frame {
  col: number;
  seg: Seg;
  kind: 'key' | 'item';
}

interface FoundKey {
  name: string;
  from: number; // columns
  to: number;
  colon: number;
}

const isSpace = (c: string | undefined) => c === ' ' || c === '\t';

/** The end (exclusive) of a quoted scalar starting at `p`, or -1 when it is not closed. */
function quoteEnd(s: string, p: number): number {
  const q = s[p];
  for (let i = p + 1; i < s.length; i++) {
    if (q === '"' && s[i] === '\\') {
      i++;
      continue;
    }
    if (s[i] === q) {
      if (q === "'" && s[i + 1] === "'") {
        i++;
        continue;
      }
      return i + 1;
    }
  }
  return -1;
}

function unquote(s: string): string {
  if (s.startsWith('"')) {
    const inner = s.slice(1, -1);
    try {
      return JSON.parse(`"${inner}"`) as string;
    } catch {
      return inner;
    }
  }
  if (s.startsWith("'")) return s.slice(1, -1).replace(/''/g, "'");
  return s;
}

/** A block mapping key (`key:` followed by a space or the end of the line) starting at column `p`. */
function findKey(line: string, p: number): FoundKey | null {
  const c = line[p];
  if (c === undefined) return null;
  if (c === '"' || c === "'") {
    const end = quoteEnd(line, p);
    if (end < 0) return null;
    let a = end;
    while (isSpace(line[a])) a++;
    if (line[a] === ':' && (a + 1 === line.length || isSpace(line[a + 1]))) {
      return { name: unquote(line.slice(p, end)), from: p, to: end, colon: a };
    }
    return null;
  }
  if ('{[|>#&*!%@`,?]}'.includes(c)) return null;
  for (let i = p; i < line.length; i++) {
    if (line[i] === ':' && (i + 1 === line.length || isSpace(line[i + 1]))) {
      const name = line.slice(p, i).trimEnd();
      return name ? { name, from: p, to: p + name.length, colon: i } : null;
    }
    if (line[i] === '#' && isSpace(line[i - 1])) return null;
  }
  return null;
}

/** The value of a scalar written on one line (quotes removed, comment dropped), or null. */
function scalarText(raw: string): string | null {
  if (raw === '' || raw.startsWith('#')) return null;
  if (raw.startsWith('"') || raw.startsWith("'")) {
    const end = quoteEnd(raw, 0);
    return end < 0 ? raw.slice(1) : unquote(raw.slice(0, end));
  }
  const m = /\s#/.exec(raw);
  const v = (m ? raw.slice(0, m.index) : raw).trimEnd();
  return v === '' ? null : v;
}

const isBlockHeader = (raw: string) => /^[|>][0-9+-]*\s*(#.*)?$/.test(raw);

interface FlowFrame {
  type: 'map' | 'seq';
  path: Seg[];
  seg: Seg | null; // the current key (map) or index (seq)
  expectKey: boolean;
}

interface FlowResult {
  end: number;
  closed: boolean;
  ctx: CursorContext | null; // the context at the end of the text, when it ends inside
}

/**
 * Reads the flow collection (`{…}` or `[…]`) starting at `start`, recording its keys. It ends at
 * its closing bracket, or (unclosed) at a line indented less than `minIndent`, or at the end.
 */
function parseFlow(text: string, start: number, basePath: Seg[], minIndent: number, entries: KeyEntry[]): FlowResult {
  const stack: FlowFrame[] = [];
  let last: KeyEntry | null = null;
  let afterToken = false;
  let partial: { from: number; prefix: string } | null = null;
  let i = start;
  while (i < text.length) {
    const ch = text[i];
    const top = stack[stack.length - 1];
    if (ch === '\n') {
      let j = i + 1;
      while (isSpace(text[j])) j++;
      if (j < text.length && !'\r\n#'.includes(text[j]) && j - (i + 1) < minIndent) return { end: i, closed: false, ctx: null };
      i++;
      continue;
    }
    if (isSpace(ch) || ch === '\r') {
      i++;
      continue;
    }
    if (ch === '#' && (i === start || isSpace(text[i - 1]) || text[i - 1] === '\n')) {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (ch === '{' || ch === '[') {
      const path = top ? [...top.path, top.seg ?? '?'] : basePath;
      stack.push({ type: ch === '{' ? 'map' : 'seq', path, seg: ch === '{' ? null : 0, expectKey: ch === '{' });
      afterToken = false;
      i++;
      continue;
    }
    if (!top) return { end: i, closed: true, ctx: null };
    if (ch === '}' || ch === ']') {
      stack.pop();
      i++;
      afterToken = false;
      if (stack.length === 0) return { end: i, closed: true, ctx: null };
      continue;
    }
    if (ch === ',') {
      if (top.type === 'map') {
        top.expectKey = true;
        top.seg = null;
      } else top.seg = (top.seg as number) + 1;
      afterToken = false;
      i++;
      continue;
    }
    if (ch === ':' && (afterToken || i + 1 === text.length || /[\s,\]}[{]/.test(text[i + 1]))) {
      if (top.type === 'map') top.expectKey = false;
      afterToken = false;
      i++;
      continue;
    }
    // A scalar.
    let end: number;
    if (ch === '"' || ch === "'") {
      end = quoteEnd(text, i);
      if (end < 0) {
        partial = { from: i + 1, prefix: text.slice(i + 1) };
        break;
      }
    } else {
      end = i;
      while (end < text.length) {
        const c = text[end];
        if (c === '\n' || c === '\r' || ',[]{}'.includes(c)) break;
        if (c === ':' && (end + 1 === text.length || /[\s,\]}[{]/.test(text[end + 1]))) break;
        if (c === '#' && isSpace(text[end - 1])) break;
        end++;
      }
      if (end === text.length) {
        partial = { from: i, prefix: text.slice(i) };
        break;
      }
      while (end > i && isSpace(text[end - 1])) end--;
    }
    const raw = text.slice(i, end);
    if (top.type === 'map' && top.expectKey) {
      const name = unquote(raw);
      last = { path: [...top.path, name], from: i, to: end, value: null };
      entries.push(last);
      top.seg = name;
    } else if (top.type === 'map' && last && top.seg !== null && last.path.length === top.path.length + 1 && last.path[last.path.length - 1] === top.seg) {
      last.value = unquote(raw);
    }
    afterToken = true;
    i = end;
  }
  const top = stack[stack.length - 1];
  if (!top) return { end: text.length, closed: true, ctx: null };
  const from = partial ? partial.from : text.length;
  const prefix = partial ? partial.prefix : '';
  let ctx: CursorContext;
  if (afterToken && !partial) ctx = { kind: 'other', path: top.path };
  else if (top.type === 'map' && top.expectKey) ctx = { kind: 'key', path: top.path, from, prefix };
  else if (top.seg !== null) ctx = { kind: 'value', path: top.path, key: top.seg, from, prefix };
  else ctx = { kind: 'other', path: top.path };
  return { end: text.length, closed: false, ctx };
}

interface ScanResult {
  entries: KeyEntry[];
  ctx: CursorContext;
}

/**
 * Scans `text` line by line. With `cursor`, the text ends at the cursor and the last line is read
 * as the one being typed: the result's `ctx` says what the cursor is in.
 */
function scan(text: string, cursor: boolean): ScanResult {
  const frames: Frame[] = [];
  const entries: KeyEntry[] = [];
  const segs = () => frames.map((f) => f.seg);
  const popFrom = (col: number, inclusive: boolean) => {
    while (frames.length && (inclusive ? frames[frames.length - 1].col >= col : frames[frames.length - 1].col > col)) frames.pop();
  };
  const openItem = (col: number) => {
    popFrom(col, false);
    const top = frames[frames.length - 1];
    if (top && top.kind === 'item' && top.col === col) top.seg = (top.seg as number) + 1;
    else frames.push({ col, seg: 0, kind: 'item' });
  };
  let blockCol: number | null = null;
  let skipUntil = 0;
  let ctx: CursorContext | null = null;
  let ls = 0;
  while (ls <= text.length) {
    let le = text.indexOf('\n', ls);
    if (le < 0) le = text.length;
    const isLast = le === text.length;
    const cur = cursor && isLast;
    const line = text.slice(ls, le).replace(/\r$/, '');
    const start = ls;
    ls = le + 1;
    if (start < skipUntil) {
      if (isLast) break;
      continue;
    }
    let indent = 0;
    while (isSpace(line[indent])) indent++;
    const blank = indent === line.length || line[indent] === '#';
    if (blockCol !== null) {
      if ((blank && !cur) || indent > blockCol) {
        if (cur) ctx = { kind: 'other', path: segs() };
        if (isLast) break;
        continue;
      }
      blockCol = null;
    }
    if (/^(---|\.\.\.)(\s|$)/.test(line)) {
      frames.length = 0;
      if (cur) ctx = { kind: 'other', path: [] };
      if (isLast) break;
      continue;
    }
    if (blank && !cur) {
      if (isLast) break;
      continue;
    }
    let p = indent;
    let markers = 0;
    let lastMarker = indent;
    while (line[p] === '-' && (p + 1 === line.length || isSpace(line[p + 1]))) {
      openItem(p);
      markers++;
      lastMarker = p;
      p++;
      while (isSpace(line[p])) p++;
    }
    const rest = line.slice(p);
    const key = findKey(line, p);
    if (key) {
      if (!markers) popFrom(p, true);
      const container = segs();
      frames.push({ col: p, seg: key.name, kind: 'key' });
      const entry: KeyEntry = { path: segs(), from: start + key.from, to: start + key.to, value: null };
      entries.push(entry);
      let v = key.colon + 1;
      while (isSpace(line[v])) v++;
      const raw = line.slice(v);
      if (raw.startsWith('{') || raw.startsWith('[')) {
        const r = parseFlow(text, start + v, entry.path, p + 1, entries);
        skipUntil = r.end;
        if (cursor && !r.closed && r.end >= text.length) {
          ctx = r.ctx ?? { kind: 'other', path: entry.path };
          break;
        }
        if (cur) ctx = { kind: 'other', path: entry.path };
      } else if (isBlockHeader(raw)) {
        blockCol = p;
        if (cur) ctx = { kind: 'other', path: entry.path };
      } else {
        entry.value = scalarText(raw);
        if (cur) {
          if (/(^|\s)#/.test(raw) && !raw.startsWith('"') && !raw.startsWith("'")) ctx = { kind: 'other', path: entry.path };
          else {
            const quoted = raw.startsWith('"') || raw.startsWith("'");
            ctx = { kind: 'value', path: container, key: key.name, from: start + v + (quoted ? 1 : 0), prefix: quoted ? raw.slice(1) : raw };
          }
        }
      }
    } else if (rest.startsWith('{') || rest.startsWith('[')) {
      const base = segs();
      const r = parseFlow(text, start + p, base, markers ? lastMarker + 1 : indent, entries);
      skipUntil = r.end;
      if (cursor && !r.closed && r.end >= text.length) {
        ctx = r.ctx ?? { kind: 'other', path: base };
        break;
      }
      if (cur) ctx = { kind: 'other', path: base };
    } else if (markers && isBlockHeader(rest)) {
      blockCol = frames[frames.length - 1].col;
      if (cur) ctx = { kind: 'other', path: segs() };
    } else if (cur) {
      if (/^[\w.$-]*$/.test(rest)) {
        if (!markers) popFrom(p, true);
        ctx = { kind: 'key', path: segs(), from: start + p, prefix: rest };
      } else ctx = { kind: 'other', path: segs() };
    }
    if (isLast) break;
  }
  return { entries, ctx: ctx ?? { kind: 'other', path: segs() } };
}

let outlineCache: { text: string; entries: KeyEntry[] } | null = null;

/** Every key of the document with the path it names (a lenient reading: works on partial text). */
export function outline(text: string): KeyEntry[] {
  if (outlineCache?.text !== text) outlineCache = { text, entries: scan(text, false).entries };
  return outlineCache.entries;
}

/** What the cursor at `offset` is in. */
export function contextAt(text: string, offset: number): CursorContext {
  return scan(text.slice(0, offset), true).ctx;
}

/**
 * The path at the cursor: where a key is expected, the path of the mapping it goes in
 * (`["trigger", "polling"]`); in a value, the path of that value (`["steps", 0, "on_error"]`).
 */
export function pathAt(text: string, offset: number): Seg[] {
  const ctx = contextAt(text, offset);
  return ctx.kind === 'value' ? [...ctx.path, ctx.key] : ctx.path;
}

/** The keys already present in the mapping at `path` (but the one at `offset`, being typed). */
export function siblingKeys(text: string, path: Seg[], offset: number): string[] {
  return outline(text)
    .filter((e) => e.path.length === path.length + 1 && path.every((s, i) => e.path[i] === s) && !(e.from <= offset && offset <= e.to))
    .map((e) => String(e.path[path.length]));
}

const STEP_LISTS = new Set(['then', 'else', 'default', 'steps']);

/** The length of the path of the innermost step in `path` (0 when it is not in a step). */
export function stepPrefix(path: Seg[]): number {
  let state: 'root' | 'list' | 'step' | 'on_error' | 'cases' | 'other' = 'root';
  let found = 0;
  for (let i = 0; i < path.length; i++) {
    const s = path[i];
    switch (state) {
      case 'root':
        state = s === 'steps' ? 'list' : 'other';
        break;
      case 'list':
        if (typeof s === 'number') {
          state = 'step';
          found = i + 1;
        } else state = 'other';
        break;
      case 'step':
        if (typeof s === 'string' && STEP_LISTS.has(s)) state = 'list';
        else if (s === 'on_error') state = 'on_error';
        else if (s === 'cases') state = 'cases';
        else state = 'other';
        break;
      case 'on_error':
        state = s === 'branch' ? 'list' : 'other';
        break;
      case 'cases':
        state = 'list';
        break;
    }
    if (state === 'other') break;
  }
  return found;
}

/** The `id` of the innermost step that contains the cursor, or null (outside steps, or no id). */
export function stepIdAt(text: string, offset: number): string | null {
  const path = pathAt(text, offset);
  const n = stepPrefix(path);
  if (n === 0) return null;
  const step = path.slice(0, n);
  const entry = outline(text).find((e) => e.path.length === n + 1 && e.path[n] === 'id' && step.every((s, i) => e.path[i] === s));
  return entry?.value ?? null;
}

// ---------------------------------------------------------------------------------------------
// The schema

type Obj = { [key: string]: Json };

const asObj = (s: unknown): Obj | null => (s && typeof s === 'object' && !Array.isArray(s) ? (s as Obj) : null);

function deref(root: JsonSchema, s: Obj, depth = 0): Obj {
  const ref = s.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#') || depth > 32) return s;
  let target: unknown = root;
  for (const part of ref.slice(1).split('/').filter(Boolean)) {
    const o = asObj(target);
    if (!o) return s;
    target = o[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  const t = asObj(target);
  return t ? deref(root, t, depth + 1) : s;
}

/** The alternatives a schema allows: `$ref` followed, `anyOf`/`oneOf`/`allOf` flattened. */
export function alternatives(root: JsonSchema, schema: unknown): Obj[] {
  const out: Obj[] = [];
  const visit = (x: unknown, depth: number) => {
    const o = asObj(x);
    if (!o || depth > 32) return;
    const t = deref(root, o);
    let composite = false;
    for (const k of ['anyOf', 'oneOf', 'allOf']) {
      const arr = t[k];
      if (Array.isArray(arr)) {
        composite = true;
        for (const a of arr) visit(a, depth + 1);
      }
    }
    if (!composite || 'properties' in t || 'type' in t || 'enum' in t || 'const' in t || 'items' in t) out.push(t);
  };
  visit(schema, 0);
  return out;
}

function children(root: JsonSchema, schema: unknown, seg: Seg): unknown[] {
  const out: unknown[] = [];
  for (const alt of alternatives(root, schema)) {
    if (typeof seg === 'string') {
      const props = asObj(alt.properties);
      if (props && Object.prototype.hasOwnProperty.call(props, seg)) {
        out.push(props[seg]);
        continue;
      }
      const pattern = asObj(alt.patternProperties);
      let matched = false;
      for (const [re, s] of Object.entries(pattern ?? {})) {
        try {
          if (new RegExp(re, 'u').test(seg)) {
            out.push(s);
            matched = true;
          }
        } catch {
          // not a pattern this engine knows
        }
      }
      if (!matched && asObj(alt.additionalProperties)) out.push(alt.additionalProperties);
    } else {
      if (asObj(alt.items)) out.push(alt.items);
      else if (Array.isArray(alt.prefixItems) && alt.prefixItems[seg] !== undefined) out.push(alt.prefixItems[seg]);
    }
  }
  return out;
}

/** The schemas that apply at `path` (several when alternatives allow it). */
export function schemasAt(root: JsonSchema, path: Seg[]): unknown[] {
  let cur: unknown[] = [root];
  for (const seg of path) cur = cur.flatMap((s) => children(root, s, seg));
  return cur;
}

function describe(root: JsonSchema, schema: unknown): string {
  const o = asObj(schema);
  if (!o) return '';
  if (typeof o.description === 'string') return o.description;
  for (const alt of alternatives(root, o)) if (typeof alt.description === 'string') return alt.description;
  return '';
}

export interface KeyInfo {
  name: string;
  description: string;
  required: boolean;
}

/** The properties the schema allows in the mapping at `path`. */
export function keysAt(schema: JsonSchema, path: Seg[]): KeyInfo[] {
  const out = new Map<string, KeyInfo>();
  for (const s of schemasAt(schema, path)) {
    for (const alt of alternatives(schema, s)) {
      const props = asObj(alt.properties);
      if (!props) continue;
      const required = Array.isArray(alt.required) ? alt.required : [];
      for (const [name, p] of Object.entries(props)) {
        if (!out.has(name)) out.set(name, { name, description: describe(schema, p), required: required.includes(name) });
      }
    }
  }
  return [...out.values()];
}

export interface ValueInfo {
  /** As written in YAML. */
  value: string;
  description: string;
}

/** The values the schema enumerates for `key` of the mapping at `path` (enum, const, booleans). */
export function valuesAt(schema: JsonSchema, path: Seg[], key: Seg): ValueInfo[] {
  const out = new Map<string, ValueInfo>();
  const add = (v: Json, description: string) => {
    const value = typeof v === 'string' ? v : JSON.stringify(v);
    if (!out.has(value)) out.set(value, { value, description });
  };
  for (const s of schemasAt(schema, [...path, key])) {
    for (const alt of alternatives(schema, s)) {
      const description = typeof alt.description === 'string' ? alt.description : '';
      if (Array.isArray(alt.enum)) for (const v of alt.enum) add(v, description);
      if ('const' in alt) add(alt.const, description);
      const types = Array.isArray(alt.type) ? alt.type : [alt.type];
      if (types.includes('boolean')) {
        add(true, '');
        add(false, '');
      }
    }
  }
  return [...out.values()];
}

// ---------------------------------------------------------------------------------------------
// Locating problems

/** `steps.check.then[0].input` → `["steps", "check", "then", 0, "input"]`. */
export function parsePath(path: string): Seg[] {
  const out: Seg[] = [];
  for (const m of path.matchAll(/\[(\d+)\]|([^.[\]]+)/g)) out.push(m[1] !== undefined ? Number(m[1]) : m[2]);
  return out;
}

let docCache: { text: string; doc: Document.Parsed | null } | null = null;

function parsed(text: string): Document.Parsed | null {
  if (docCache?.text !== text) {
    let doc: Document.Parsed | null = null;
    try {
      doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false });
    } catch {
      doc = null;
    }
    docCache = { text, doc };
  }
  return docCache.doc;
}

type AnyNode = { range?: [number, number, number] | null };

function nodeRange(node: unknown): Range | null {
  const r = (node as AnyNode | null)?.range;
  return r ? { from: r[0], to: r[1] } : null;
}

/** A sequence item's range, cut at the end of its first line. */
function itemRange(node: unknown, text: string): Range | null {
  const r = nodeRange(node);
  if (!r) return null;
  const nl = text.indexOf('\n', r.from);
  return { from: r.from, to: nl >= 0 && nl < r.to ? nl : r.to };
}

function findPair(map: unknown, seg: Seg) {
  if (!isMap(map)) return undefined;
  return map.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
}

/** Calls `visit` on each step mapping (in document order) until it returns true. */
function findStep(doc: Document.Parsed, visit: (step: unknown) => boolean): unknown {
  let found: unknown = null;
  const list = (seq: unknown): boolean => {
    if (!isSeq(seq)) return false;
    for (const item of seq.items) {
      if (!isMap(item)) continue;
      if (visit(item)) {
        found = item;
        return true;
      }
      if (step(item)) return true;
    }
    return false;
  };
  const step = (m: unknown): boolean => {
    if (!isMap(m)) return false;
    for (const k of ['then', 'else', 'default', 'steps']) if (list(m.get(k, true))) return true;
    const onError = m.get('on_error', true);
    if (isMap(onError) && list(onError.get('branch', true))) return true;
    const cases = m.get('cases', true);
    if (isMap(cases)) for (const p of cases.items) if (list(p.value)) return true;
    return false;
  };
  list(isMap(doc.contents) ? doc.contents.get('steps', true) : null);
  return found;
}

/**
 * Where a problem's path is in the YAML: the key of the deepest node of the path found (the value
 * for a sequence item; for a step found by its id, that id). `steps.<id>` finds the step with that
 * id however deeply it is nested; `trigger.X` also looks under the trigger's variant key
 * (`trigger: { polling: { X } }`). Null when not even the first segment is found.
 */
export function locate(text: string, problemPath: string): Range | null {
  const doc = parsed(text);
  const segs = parsePath(problemPath);
  if (!doc || segs.length === 0) return null;
  let node: unknown = doc.contents;
  let best: Range | null = null;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    if (isMap(node)) {
      let pair = findPair(node, seg);
      if (!pair && i === 1 && segs[0] === 'trigger' && node.items.length === 1 && isMap(node.items[0].value)) {
        best = nodeRange(node.items[0].key) ?? best;
        node = node.items[0].value;
        pair = findPair(node, seg);
      }
      if (!pair) break;
      best = nodeRange(pair.key) ?? best;
      node = pair.value;
    } else if (isSeq(node)) {
      if (typeof seg === 'number') {
        const item = node.items[seg];
        if (item === undefined) break;
        best = itemRange(item, text) ?? best;
        node = item;
      } else {
        const step = findStep(doc, (m) => isMap(m) && String(m.get('id')) === seg);
        if (!isMap(step)) break;
        const id = step.get('id', true);
        best = nodeRange(id) ?? itemRange(step, text) ?? best;
        node = step;
      }
    } else break;
  }
  return best;
}

/** The offset of a 1-based line and column, clamped into the text. */
function offsetOf(text: string, line: number, column: number): Range {
  let from = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', from);
    if (nl < 0) break;
    from = nl + 1;
  }
  let end = text.indexOf('\n', from);
  if (end < 0) end = text.length;
  const pos = Math.min(from + Math.max(0, column - 1), end);
  const word = /^[^\s:,[\]{}]+/.exec(text.slice(pos, end));
  return { from: pos, to: word ? pos + word[0].length : Math.min(pos + 1, end) };
}

/** Where to show a problem: its line and column, else its path located, else line 1. */
export function problemRange(text: string, problem: Problem): Range {
  if (problem.line !== undefined && problem.line >= 1) return offsetOf(text, problem.line, problem.column ?? 1);
  const found = problem.path ? locate(text, problem.path) : null;
  if (found) return { from: Math.min(found.from, text.length), to: Math.min(found.to, text.length) };
  const nl = text.indexOf('\n');
  return { from: 0, to: nl < 0 ? text.length : nl };
}

/** A problem's message as shown: `path: message`, or the message when there is no path. */
export function problemMessage(problem: Problem): string {
  return problem.path ? `${problem.path}: ${problem.message}` : problem.message;
}

/** The 1-based line of an offset. */
export function lineOf(text: string, offset: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * When the text before the cursor (on its line) has an unclosed `{{`, the start and text of the
 * path being typed in it; else null.
 */
export function expressionAt(text: string, offset: number): { from: number; prefix: string } | null {
  const ls = text.lastIndexOf('\n', offset - 1) + 1;
  const before = text.slice(ls, offset);
  const open = before.lastIndexOf('{{');
  if (open < 0 || before.indexOf('}}', open) >= 0) return null;
  const m = /[\w.[\]$-]*$/.exec(before.slice(open + 2)) as RegExpExecArray;
  return { from: offset - m[0].length, prefix: m[0] };
}

/** Whether the `{{` at the cursor is closed later on its line (a `}}` before any other `{{`). */
export function expressionClosed(text: string, offset: number): boolean {
  let le = text.indexOf('\n', offset);
  if (le < 0) le = text.length;
  const after = text.slice(offset, le);
  const close = after.indexOf('}}');
  const open = after.indexOf('{{');
  return close >= 0 && (open < 0 || close < open);
}

// ---------------------------------------------------------------------------------------------
// Completion (shaped like @codemirror/autocomplete's CompletionResult, without depending on it)

export interface CompletionItem {
  label: string;
  /** The text that replaces `from`…`to`. */
  apply: string;
  type: 'property' | 'enum' | 'variable';
  info?: string;
  detail?: string;
  boost?: number;
}

export interface Completions {
  from: number;
  to?: number;
  options: CompletionItem[];
  validFor: RegExp;
}

export interface CompletionOptions {
  /** Asked for (Ctrl-Space), rather than offered while typing. */
  explicit: boolean;
  /** The expression paths readable in the step with this id (null: outside steps). */
  expressionPaths?: (stepId: string | null) => string[];
}

/**
 * What to offer at `offset`: inside `{{ … ` the expression paths of the step around the cursor;
 * where a key is expected the schema's properties not yet in the mapping; after `key: ` the
 * values the schema enumerates. Null when there is nothing to offer.
 */
export function completionsAt(schema: JsonSchema, text: string, offset: number, opts: CompletionOptions): Completions | null {
  const le = text.indexOf('\n', offset);
  const after = text.slice(offset, le < 0 ? text.length : le);
  const expr = expressionAt(text, offset);
  if (expr) {
    if (!opts.expressionPaths) return null;
    const before = text.slice(0, expr.from);
    if (!opts.explicit && expr.prefix === '' && !/\{\{\s*$/.test(before)) return null;
    // Closed already (`{{ |}}`, as closeBrackets leaves it): a space before the braces at most.
    const closing = expressionClosed(text, offset) ? (after.startsWith('}}') ? ' ' : '') : ' }}';
    const space = before.endsWith('{{') ? ' ' : '';
    const paths = [...new Set(opts.expressionPaths(stepIdAt(text, offset)))];
    if (paths.length === 0) return null;
    return {
      from: expr.from,
      options: paths.map((p) => ({ label: p, apply: `${space}${p}${closing}`, type: 'variable' })),
      validFor: /^[\w.[\]$-]*$/,
    };
  }
  const ctx = contextAt(text, offset);
  if (ctx.kind === 'key') {
    if (!opts.explicit && ctx.prefix === '') return null;
    const present = new Set(siblingKeys(text, ctx.path, offset));
    const keys = keysAt(schema, ctx.path).filter((k) => !present.has(k.name));
    if (keys.length > 0) {
      // Completing over an existing key keeps its colon.
      const word = /^[\w.$-]*/.exec(after)![0];
      const hasColon = /^[\w.$-]*\s*:/.test(after);
      return {
        from: ctx.from,
        to: hasColon ? offset + word.length : undefined,
        options: keys.map((k) => ({
          label: k.name,
          apply: hasColon ? k.name : `${k.name}: `,
          type: 'property',
          info: k.description || undefined,
          detail: k.required ? 'required' : undefined,
          boost: k.required ? 1 : 0,
        })),
        validFor: /^[\w.$-]*$/,
      };
    }
    const last = ctx.path[ctx.path.length - 1];
    if (typeof last !== 'number') return null;
    return valueCompletions(schema, text, ctx.path.slice(0, -1), last, ctx.from);
  }
  if (ctx.kind === 'value') {
    if (!opts.explicit && ctx.prefix === '' && !isSpace(text[offset - 1])) return null;
    return valueCompletions(schema, text, ctx.path, ctx.key, ctx.from);
  }
  return null;
}

function valueCompletions(schema: JsonSchema, text: string, path: Seg[], key: Seg, from: number): Completions | null {
  const values = valuesAt(schema, path, key);
  if (values.length === 0) return null;
  const space = text[from - 1] === ':' ? ' ' : '';
  return {
    from,
    options: values.map((v) => ({ label: v.value, apply: `${space}${v.value}`, type: 'enum', info: v.description || undefined })),
    validFor: /^[\w.$-]*$/,
  };
}
