// Shapes shared by the flow editor's pieces.

import type { Json } from '../types';

/** A JSON Schema (a boolean schema or an object). */
export type JsonSchema = boolean | { [key: string]: Json };

/**
 * One problem weft's validation found. `path` names the place: `name`, `trigger.config.collection`,
 * `steps.create.input.url` (a step with an id is named by it, however deeply nested), `steps[2]`
 * or `steps.check.then[0]` (a step without an id, by index), `steps[0].transfrom` (a shape error
 * from parsing). YAML syntax errors carry `line` and `column` (1-based) instead of a useful path.
 */
export interface Problem {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/** Inserts text where an expression field's cursor is (the data panel uses it). */
export type InsertTarget = (text: string) => void;

/** What an expression evaluates to on a sample, or why it cannot. */
export interface Preview {
  value?: Json;
  error?: string;
}
