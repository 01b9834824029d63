// The connection form's fields, generated from a connector's manifest, and the settings object
// built back from what was typed. weft's manifest today lists settings as
// `[{name, description, secret, required}]` (secret ones are the connection's secrets); a
// manifest whose `settings` is a JSON Schema object (`{type: object, properties, required}`)
// gets typed fields (text / number / boolean / enum), and anything else a JSON textarea.

import type { Json, Manifest, SettingSpec } from './types';

/** `auto` (untyped settings): JSON when the text parses as JSON, else a string, as `weft connection set --setting` reads it. */
export type FieldType = 'auto' | 'text' | 'number' | 'integer' | 'boolean' | 'enum' | 'json';

export interface SettingField {
  name: string;
  type: FieldType;
  required: boolean;
  description?: string;
  options?: string[];
  /** The schema's default, shown as a placeholder. */
  placeholder?: string;
}

export interface SecretField {
  name: string;
  required: boolean;
  description?: string;
}

export interface FormSpec {
  settings: SettingField[];
  secrets: SecretField[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fieldFromSchema(name: string, schema: unknown, required: boolean): SettingField {
  const s = isObject(schema) ? schema : {};
  const description = typeof s.description === 'string' ? s.description : typeof s.title === 'string' ? s.title : undefined;
  const placeholder = s.default !== undefined ? JSON.stringify(s.default) : undefined;
  let type = s.type;
  if (Array.isArray(type)) {
    const nonNull = type.filter((t) => t !== 'null');
    type = nonNull.length === 1 ? nonNull[0] : undefined;
  }
  if (Array.isArray(s.enum) && s.enum.every((v) => typeof v === 'string')) {
    return { name, type: 'enum', required, description, options: s.enum as string[], placeholder };
  }
  switch (type) {
    case 'string':
      return { name, type: 'text', required, description, placeholder };
    case 'number':
      return { name, type: 'number', required, description, placeholder };
    case 'integer':
      return { name, type: 'integer', required, description, placeholder };
    case 'boolean':
      return { name, type: 'boolean', required, description };
    default:
      return { name, type: 'json', required, description, placeholder };
  }
}

/** The form a connector's manifest asks for. */
export function formSpec(manifest: Manifest | undefined): FormSpec {
  const settings: SettingField[] = [];
  const secrets: SecretField[] = [];
  if (!manifest) return { settings, secrets };
  const raw = manifest.settings as unknown;
  if (Array.isArray(raw)) {
    for (const item of raw as SettingSpec[]) {
      if (!isObject(item) || typeof item.name !== 'string') continue;
      if (item.secret) secrets.push({ name: item.name, required: !!item.required, description: item.description });
      else settings.push({ name: item.name, type: 'auto', required: !!item.required, description: item.description });
    }
  } else if (isObject(raw)) {
    const props = isObject(raw.properties) ? raw.properties : {};
    const required = new Set(Array.isArray(raw.required) ? (raw.required as unknown[]).map(String) : []);
    for (const [name, schema] of Object.entries(props)) settings.push(fieldFromSchema(name, schema, required.has(name)));
  }
  for (const item of manifest.secrets ?? []) {
    const name = typeof item === 'string' ? item : item?.name;
    if (typeof name !== 'string' || secrets.some((s) => s.name === name)) continue;
    secrets.push({
      name,
      required: typeof item === 'object' && !!item.required,
      description: typeof item === 'object' ? item.description : undefined,
    });
  }
  return { settings, secrets };
}

/** What a field's input shows for a stored value. */
export function fieldText(field: SettingField, value: Json | undefined): string {
  if (value === undefined || value === null) return '';
  if (field.type === 'json') return JSON.stringify(value, null, 2);
  if (field.type === 'auto') {
    if (typeof value !== 'string') return JSON.stringify(value);
    // A string that would read back as another JSON value is shown quoted.
    try {
      JSON.parse(value);
      return JSON.stringify(value);
    } catch {
      return value;
    }
  }
  if (typeof value === 'string') return value;
  if (field.type === 'text' || field.type === 'enum') return JSON.stringify(value);
  return String(value);
}

/**
 * The settings object from the form: typed values for the manifest's fields (an empty field is
 * left out), plus `extra` (a JSON object text) for settings the manifest does not name.
 * Throws an Error naming the field when a value does not parse.
 */
export function buildSettings(fields: SettingField[], values: Record<string, string | boolean>, extra: string): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  if (extra.trim()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(extra);
    } catch (e) {
      throw new Error(`other settings: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!isObject(parsed)) throw new Error('other settings: must be a JSON object');
    Object.assign(out, parsed);
  }
  for (const field of fields) {
    const v = values[field.name];
    if (field.type === 'boolean') {
      if (typeof v === 'boolean') out[field.name] = v;
      continue;
    }
    const text = typeof v === 'string' ? v : '';
    if (text.trim() === '') {
      if (field.required) throw new Error(`${field.name}: required`);
      delete out[field.name];
      continue;
    }
    switch (field.type) {
      case 'number':
      case 'integer': {
        const n = Number(text.trim());
        if (!Number.isFinite(n) || (field.type === 'integer' && !Number.isInteger(n))) {
          throw new Error(`${field.name}: ${JSON.stringify(text)} is not ${field.type === 'integer' ? 'an integer' : 'a number'}`);
        }
        out[field.name] = n;
        break;
      }
      case 'auto':
        try {
          out[field.name] = JSON.parse(text) as Json;
        } catch {
          out[field.name] = text;
        }
        break;
      case 'json':
        try {
          out[field.name] = JSON.parse(text) as Json;
        } catch (e) {
          throw new Error(`${field.name}: ${e instanceof Error ? e.message : String(e)}`);
        }
        break;
      default:
        out[field.name] = text;
    }
  }
  return out;
}

/** Hosts typed as a comma- or newline-separated list. */
export function parseHosts(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((h) => h.trim())
    .filter((h) => h !== '');
}

/** The secrets of a PUT: a typed value sets, `remove` sends null, the rest is left out (kept). */
export function buildSecrets(values: Record<string, string>, remove: Record<string, boolean>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [name, flag] of Object.entries(remove)) if (flag) out[name] = null;
  for (const [name, value] of Object.entries(values)) if (value !== '' && !remove[name]) out[name] = value;
  return out;
}
