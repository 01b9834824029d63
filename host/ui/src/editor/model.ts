// The flow editor's model: pure functions over a FlowDef held as data. Steps are found by where
// they sit (the list that holds them and their index), lists by their path from the flow's root
// (`['steps']`, `['steps', 2, 'then']`, `['steps', 1, 'cases', 'a']`, `['steps', 0, 'on_error',
// 'branch']`). Every change returns a new FlowDef and leaves the old one untouched.

import type { FlowDef, Json, RunWithSteps, StepDef } from '../types';
import type { Problem } from './shared';

export type Seg = string | number;
/** The path from the flow's root to a list of steps. */
export type ListPath = Seg[];
/** Where a step sits: its list and its index in it. */
export interface Loc {
  list: ListPath;
  index: number;
}

export type StepKindName = 'action' | 'transform' | 'call' | 'respond' | 'if' | 'switch' | 'for_each' | 'delay' | 'delay_until';

export function kindOf(step: StepDef): StepKindName | null {
  if (step.action !== undefined) return 'action';
  if (step.transform !== undefined) return 'transform';
  if (step.call !== undefined) return 'call';
  if (step.respond !== undefined) return 'respond';
  if (step.if !== undefined) return 'if';
  if (step.switch !== undefined) return 'switch';
  if (step.for_each !== undefined) return 'for_each';
  if (step.delay !== undefined) return 'delay';
  if (step.delay_until !== undefined) return 'delay_until';
  return null;
}

/** The lists of steps a step holds, with a label each: `then`, `else`, `case a`, `default`, `body`, `on error`. */
export function childLists(step: StepDef, at: Loc): { label: string; list: ListPath; steps: StepDef[] }[] {
  const base: ListPath = [...at.list, at.index];
  const out: { label: string; list: ListPath; steps: StepDef[] }[] = [];
  if (step.if !== undefined) {
    out.push({ label: 'then', list: [...base, 'then'], steps: step.then ?? [] });
    out.push({ label: 'else', list: [...base, 'else'], steps: step.else ?? [] });
  }
  if (step.switch !== undefined) {
    for (const [name, steps] of Object.entries(step.cases ?? {})) {
      out.push({ label: `case ${name}`, list: [...base, 'cases', name], steps });
    }
    out.push({ label: 'default', list: [...base, 'default'], steps: step.default ?? [] });
  }
  if (step.for_each !== undefined) out.push({ label: 'body', list: [...base, 'steps'], steps: step.steps ?? [] });
  if (step.on_error && typeof step.on_error === 'object') {
    out.push({ label: 'on error', list: [...base, 'on_error', 'branch'], steps: step.on_error.branch });
  }
  return out;
}

function getIn(value: unknown, path: Seg[]): unknown {
  let at = value;
  for (const seg of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string | number, unknown>)[seg];
  }
  return at;
}

function setIn<T>(value: T, path: Seg[], replace: (old: unknown) => unknown): T {
  if (path.length === 0) return replace(value) as T;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = value.slice();
    copy[head as number] = setIn(copy[head as number], rest, replace);
    return copy as T;
  }
  const obj = (value ?? {}) as Record<string, unknown>;
  return { ...obj, [head]: setIn(obj[head as string], rest, replace) } as T;
}

/** The steps of the list at `list` (empty when it does not exist yet). */
export function listAt(def: FlowDef, list: ListPath): StepDef[] {
  const found = getIn(def, list);
  return Array.isArray(found) ? (found as StepDef[]) : [];
}

export function stepAt(def: FlowDef, at: Loc): StepDef | undefined {
  return listAt(def, at.list)[at.index];
}

/** Every step in document order, nested ones after the step that holds them. */
export function walk(def: FlowDef, visit: (step: StepDef, at: Loc, ancestors: StepDef[]) => void): void {
  const go = (steps: StepDef[], list: ListPath, ancestors: StepDef[]) => {
    steps.forEach((step, index) => {
      const at = { list, index };
      visit(step, at, ancestors);
      for (const child of childLists(step, at)) go(child.steps, child.list, [...ancestors, step]);
    });
  };
  go(def.steps ?? [], ['steps'], []);
}

export function findStep(def: FlowDef, id: string): Loc | null {
  let found: Loc | null = null;
  walk(def, (step, at) => {
    if (found === null && step.id === id) found = at;
  });
  return found;
}

export function allIds(def: FlowDef): Set<string> {
  const ids = new Set<string>();
  walk(def, (step) => ids.add(step.id));
  return ids;
}

/** An id not used in the flow, from `base` (`request`, `request_2`…), in `[a-z0-9_]`. */
export function freshId(def: FlowDef, base: string): string {
  const clean = base.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 50) || 'step';
  const ids = allIds(def);
  if (!ids.has(clean)) return clean;
  for (let n = 2; ; n++) if (!ids.has(`${clean}_${n}`)) return `${clean}_${n}`;
}

export function insertStep(def: FlowDef, list: ListPath, index: number, step: StepDef): FlowDef {
  return setIn(def, list, (old) => {
    const steps = Array.isArray(old) ? (old as StepDef[]).slice() : [];
    steps.splice(Math.max(0, Math.min(index, steps.length)), 0, step);
    return steps;
  });
}

export function replaceStep(def: FlowDef, at: Loc, step: StepDef): FlowDef {
  return setIn(def, [...at.list, at.index], () => step);
}

export function removeStep(def: FlowDef, at: Loc): FlowDef {
  return setIn(def, at.list, (old) => (old as StepDef[]).filter((_, i) => i !== at.index));
}

/** Move a step up (`-1`) or down (`+1`) within its list; unchanged at either end. */
export function moveStep(def: FlowDef, at: Loc, delta: -1 | 1): FlowDef {
  const steps = listAt(def, at.list);
  const to = at.index + delta;
  if (to < 0 || to >= steps.length) return def;
  return setIn(def, at.list, () => {
    const copy = steps.slice();
    [copy[at.index], copy[to]] = [copy[to], copy[at.index]];
    return copy;
  });
}

// ---- what a step may read ----------------------------------------------------------------------

export interface Scope {
  /** Ids of the steps whose `steps.<id>` this step may read, in flow order. */
  steps: string[];
  /** Inside a for_each body: `item` and `index` exist. */
  inLoop: boolean;
}

/**
 * What a step (or, with `null`, the flow's end) may read, as weft's validation decides: the steps
 * before it, not those inside a loop it is not in, not the steps that hold it — but a step's own
 * error branch reads the step.
 */
export function scopeAt(def: FlowDef, id: string | null): Scope {
  const visible: string[] = [];
  let result: Scope | null = null;
  const go = (steps: StepDef[], inLoop: boolean) => {
    for (const step of steps) {
      if (result) return;
      if (step.id === id) {
        result = { steps: visible.slice(), inLoop };
        return;
      }
      const mark = visible.length;
      if (step.if !== undefined) {
        go(step.then ?? [], inLoop);
        go(step.else ?? [], inLoop);
      } else if (step.switch !== undefined) {
        for (const body of Object.values(step.cases ?? {})) go(body, inLoop);
        go(step.default ?? [], inLoop);
      } else if (step.for_each !== undefined) {
        go(step.steps ?? [], true);
        visible.length = mark; // a loop's body is not readable after the loop
      }
      if (result) return;
      visible.push(step.id);
      if (step.on_error && typeof step.on_error === 'object') go(step.on_error.branch, inLoop);
    }
  };
  go(def.steps ?? [], false);
  return result ?? { steps: visible, inLoop: false };
}

// ---- sample data -------------------------------------------------------------------------------

/** What the data panel shows and expressions are previewed on: an event and step outputs. */
export interface Sample {
  trigger: Json;
  /** Step id → its output. */
  outputs: Record<string, Json>;
  /** Where it came from: `run <id>`, `test run <id>`, `pasted`. */
  source: string;
}

/** A run's event and step outputs (a loop's steps: the first item's). */
export function sampleFromRun(run: RunWithSteps, source: string): Sample {
  const outputs: Record<string, Json> = {};
  for (const step of run.steps) {
    if (step.output !== undefined && !(step.step_id in outputs)) outputs[step.step_id] = step.output;
  }
  return { trigger: (run.run.trigger ?? null) as Json, outputs, source };
}

/** The `steps` object expressions read, for the steps in scope that the sample has. */
export function sampleScope(sample: Sample | null, scope: Scope): Record<string, { output: Json }> {
  const out: Record<string, { output: Json }> = {};
  for (const id of scope.steps) if (sample && id in sample.outputs) out[id] = { output: sample.outputs[id] };
  return out;
}

const MAX_PATHS = 400;

/** Dotted paths into `value` (`a`, `a.b`, `a.list[0]`), breadth first, at most `limit` deep. */
export function pathsOf(prefix: string, value: Json | undefined, depth = 4, out: string[] = []): string[] {
  out.push(prefix);
  if (depth === 0 || value === null || value === undefined || out.length >= MAX_PATHS) return out;
  if (Array.isArray(value)) {
    if (value.length > 0) pathsOf(`${prefix}[0]`, value[0], depth - 1, out);
  } else if (typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (out.length >= MAX_PATHS) break;
      const part = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
      pathsOf(`${prefix}${part}`, v, depth - 1, out);
    }
  }
  return out;
}

/** The paths an expression at step `id` may name, with what the sample knows of their shape. */
export function pathsAt(def: FlowDef, id: string | null, sample: Sample | null): string[] {
  const scope = scopeAt(def, id);
  const out = pathsOf('trigger', sample?.trigger ?? undefined);
  for (const step of scope.steps) {
    pathsOf(`steps.${step}.output`, sample?.outputs[step], 4, out);
    out.push(`steps.${step}.error`);
  }
  if (scope.inLoop) out.push('item', 'index');
  out.push('run.id');
  return out;
}

// ---- problems ----------------------------------------------------------------------------------

export interface PlacedProblem extends Problem {
  /** The step it is about, `trigger`, or null for the flow as a whole. */
  target: string | null;
  /** The rest of the path within the step or trigger (`input.url`, `config.collection`, `connection`). */
  field: string;
}

/** Split `steps[0].then[1].input` into the step it names (by index) and the rest. */
function byIndex(def: FlowDef, path: string, within: Loc | null = null): { step: StepDef; rest: string } | null {
  const re = /^(?:\.?(steps|then|else|default|on_error\.branch|cases\.[^.[]+)\[(\d+)\])/;
  let list: ListPath = within ? [...within.list, within.index] : [];
  let rest = path;
  let found: StepDef | null = null;
  for (;;) {
    const m = re.exec(rest);
    if (!m) break;
    const key = m[1].split('.');
    const nextList: ListPath = found === null && within === null ? key : [...list, ...key];
    const step = listAt(def, nextList)[Number(m[2])];
    if (!step) break;
    found = step;
    const loc = findStep(def, step.id);
    list = loc ? [...loc.list, loc.index] : nextList;
    rest = rest.slice(m[0].length);
  }
  return found ? { step: found, rest: rest.replace(/^\./, '') } : null;
}

/** Each problem with the step (or trigger) and field it names. */
export function placeProblems(def: FlowDef, problems: Problem[]): PlacedProblem[] {
  const ids = allIds(def);
  return problems.map((p) => {
    const path = p.path;
    if (path === 'trigger' || path.startsWith('trigger.')) return { ...p, target: 'trigger', field: path.slice('trigger.'.length) };
    const named = /^steps\.([a-z0-9_]+)(?:\.(.*))?$/.exec(path);
    if (named && ids.has(named[1])) {
      const rest = named[2] ?? '';
      // `steps.check.then[0]…` is a step without an id inside `check`.
      const inner = /^(then|else|default|steps|on_error\.branch|cases\.[^.[]+)\[\d+\]/.test(rest)
        ? byIndex(def, rest, findStep(def, named[1]))
        : null;
      if (inner && inner.step.id) return { ...p, target: inner.step.id, field: inner.rest };
      return { ...p, target: named[1], field: rest };
    }
    const indexed = path.startsWith('steps[') ? byIndex(def, path) : null;
    if (indexed) return { ...p, target: indexed.step.id || null, field: indexed.rest };
    return { ...p, target: null, field: path };
  });
}

/** A step input problem's path as the input form names fields: `input.body.email` → `body.email`. */
export function inputField(field: string): string | null {
  if (field === 'input') return '';
  return field.startsWith('input.') ? field.slice('input.'.length) : null;
}

/** Strip `{{ … }}` from a data path inserted into a bare-expression field (`if`, `for_each`). */
export function bare(text: string): string {
  const m = /^\{\{\s*(.*?)\s*\}\}$/.exec(text);
  return m ? m[1] : text;
}
