// A flow as YAML text, as the editor's YAML tab shows it.

import { stringify as toYaml } from 'yaml';
import type { FlowDef, StepDef } from '../types';

const FLOW_KEYS = ['name', 'description', 'trigger', 'concurrency', 'retention', 'steps'];
const STEP_KEYS = ['id', 'action', 'connection', 'transform', 'call', 'input', 'respond', 'if', 'then', 'else', 'switch', 'cases', 'default', 'for_each', 'concurrency', 'steps', 'delay', 'delay_until', 'retry', 'on_error'];
const TRIGGER_KEYS = ['connector', 'trigger', 'connection', 'config', 'events', 'interval', 'sync', 'fallback_poll'];

/** `obj` with `keys` first, in that order, then any others as they were. */
function ordered<T extends object>(obj: T, keys: string[]): T {
  const entries = Object.entries(obj);
  const rank = (k: string) => (keys.includes(k) ? keys.indexOf(k) : keys.length);
  return Object.fromEntries(entries.sort(([a], [b]) => rank(a) - rank(b))) as T;
}

function orderedSteps(steps: StepDef[]): StepDef[] {
  return steps.map((step) => {
    const out: StepDef = ordered(step, STEP_KEYS);
    for (const key of ['then', 'else', 'default', 'steps'] as const) if (Array.isArray(out[key])) out[key] = orderedSteps(out[key]!);
    if (out.cases) out.cases = Object.fromEntries(Object.entries(out.cases).map(([k, v]) => [k, orderedSteps(v)]));
    if (out.on_error && typeof out.on_error === 'object') out.on_error = { branch: orderedSteps(out.on_error.branch) };
    return out;
  });
}

/** The flow as YAML, its keys in the order the flow format documents them (name, trigger, steps; id first). */
export function flowToYaml(def: FlowDef): string {
  const flow = ordered(def, FLOW_KEYS);
  if (typeof flow.trigger === 'object') {
    flow.trigger = Object.fromEntries(Object.entries(flow.trigger).map(([kind, body]) => [kind, kind === 'schedule' ? body : ordered(body as object, TRIGGER_KEYS)])) as typeof flow.trigger;
  }
  if (Array.isArray(flow.steps)) flow.steps = orderedSteps(flow.steps);
  return toYaml(flow, { lineWidth: 0, aliasDuplicateObjects: false });
}
