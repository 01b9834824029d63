// The YAML tab's pure logic: the path at the cursor (on complete and partial documents), what the
// flow schema offers there, the step around the cursor, and where a problem's path is.
import { describe, expect, it } from 'vitest';
import flowSchema from '../../../../schema/flow.schema.json';
import contactSync from '../../../../examples/contact-sync.yaml?raw';
import newContactToLead from '../../../../examples/new-contact-to-lead.yaml?raw';
import type { JsonSchema } from './shared';
import {
  completionsAt,
  contextAt,
  expressionAt,
  expressionClosed,
  keysAt,
  lineOf,
  locate,
  outline,
  parsePath,
  pathAt,
  problemMessage,
  problemRange,
  siblingKeys,
  stepIdAt,
  valuesAt,
} from './yamlSupport';

// A JSON import is typed from its literal, which TypeScript does not see as Json (optional-undefined fields).
const schema = flowSchema as unknown as JsonSchema;

/** Splits `‸` (the cursor) out of a text. */
function caret(marked: string): [string, number] {
  const at = marked.indexOf('‸');
  if (at < 0) throw new Error('no caret');
  return [marked.slice(0, at) + marked.slice(at + 1), at];
}
const pathOf = (marked: string) => pathAt(...caret(marked));
const ctxOf = (marked: string) => contextAt(...caret(marked));
const stepOf = (marked: string) => stepIdAt(...caret(marked));
const names = (keys: { name: string }[]) => keys.map((k) => k.name).sort();
/** The text a range covers. */
const cover = (text: string, path: string) => {
  const r = locate(text, path);
  return r && text.slice(r.from, r.to);
};
/** The 1-based line a located path starts on. */
const lineAt = (text: string, path: string) => {
  const r = locate(text, path);
  return r && lineOf(text, r.from);
};

describe('pathAt', () => {
  it('reads partial documents while typing', () => {
    expect(pathOf('name: x\ntrigger:\n  polling:\n    ‸')).toEqual(['trigger', 'polling']);
    expect(pathOf('steps:\n  - id: a\n    tra‸')).toEqual(['steps', 0]);
    expect(ctxOf('steps:\n  - id: a\n    tra‸')).toMatchObject({ kind: 'key', prefix: 'tra', from: 21 });
    expect(pathOf('name: x\ntrigger:\n  polling:\n  ‸')).toEqual(['trigger']);
    expect(pathOf('name: x\ntrigger:\n  polling:\n‸')).toEqual([]);
    expect(pathOf('‸')).toEqual([]);
    expect(pathOf('na‸')).toEqual([]);
    expect(pathOf('steps:\n  - ‸')).toEqual(['steps', 0]);
    expect(pathOf('steps:\n  - id: a\n  - ‸')).toEqual(['steps', 1]);
    expect(pathOf('steps:\n- id: a\n- id: b\n  ‸')).toEqual(['steps', 1]);
  });

  it('tells keys from values', () => {
    expect(ctxOf('steps:\n  - id: a\n    on_error: co‸')).toEqual({ kind: 'value', path: ['steps', 0], key: 'on_error', from: 31, prefix: 'co' });
    expect(pathOf('steps:\n  - id: a\n    on_error: ‸')).toEqual(['steps', 0, 'on_error']);
    expect(ctxOf('trigger: "ma‸')).toMatchObject({ kind: 'value', path: [], key: 'trigger', prefix: 'ma', from: 10 });
    expect(ctxOf('trigger:‸')).toMatchObject({ kind: 'value', key: 'trigger', prefix: '' });
    expect(ctxOf('name: x # a comment‸').kind).toBe('other');
  });

  it('follows nested steps and sequences under keys at the same indentation', () => {
    const text = 'steps:\n- id: a\n  then:\n  - id: b\n  - id: c\n    input:\n      url: ‸\n- id: d\n';
    expect(pathOf(text)).toEqual(['steps', 0, 'then', 1, 'input', 'url']);
    const [t, at] = caret(contactSync.replace('url: /contacts', 'url: /contacts‸'));
    expect(pathAt(t, at)).toEqual(['steps', 1, 'input', 'url']);
    const [t2, at2] = caret(contactSync.replace('      - id: done', '      - id: done‸'));
    expect(pathAt(t2, at2)).toEqual(['steps', 2, 'then', 0, 'id']);
  });

  it('skips block scalars and reads flow collections', () => {
    const [t, at] = caret(newContactToLead.replace('      data: "{{ trigger }}"', '      data: "{{ trigger }}"\n    ‸'));
    expect(pathAt(t, at)).toEqual(['steps', 0]);
    const [t2, at2] = caret(newContactToLead.replace('email: (.email', 'email: (.em‸ail'));
    expect(contextAt(t2, at2)).toEqual({ kind: 'other', path: ['steps', 0, 'input', 'program'] });
    expect(ctxOf('retry: { max_attempts: 3, init‸')).toEqual({ kind: 'key', path: ['retry'], from: 26, prefix: 'init' });
    expect(ctxOf('x:\n  retry: {\n    max_attempts: ‸')).toMatchObject({ kind: 'value', path: ['x', 'retry'], key: 'max_attempts' });
    expect(ctxOf('events: [a, ‸')).toMatchObject({ kind: 'value', path: ['events'], key: 1 });
    expect(ctxOf('steps:\n  - { id: a, on_error: f‸')).toMatchObject({ kind: 'value', path: ['steps', 0], key: 'on_error', prefix: 'f' });
    expect(pathOf('retry: { max_attempts: 3 }\nname: ‸')).toEqual(['name']);
    // An unclosed flow collection ends at a line indented no more than its key.
    expect(pathOf('steps:\n  - id: a\n    retry: { max_attempts: 3,\n  - id: b\n    ‸')).toEqual(['steps', 1]);
  });

  it('outlines the keys of a document, flow ones included', () => {
    const keys = outline(contactSync).map((e) => e.path.join('.'));
    expect(keys).toContain('steps.1.retry.initial_backoff');
    expect(keys).toContain('steps.2.then.0.input.crm_id');
    expect(outline(contactSync).find((e) => e.path.join('.') === 'steps.2.then.0.id')?.value).toBe('done');
    expect(siblingKeys(contactSync, ['steps', 1], 0).sort()).toEqual(['action', 'connection', 'id', 'input', 'retry']);
    expect(siblingKeys(newContactToLead, ['trigger', 'polling'], 0)).toEqual(['connector', 'trigger', 'connection', 'config', 'interval']);
  });
});

describe('keysAt and valuesAt', () => {
  it('offers the root keys', () => {
    expect(names(keysAt(schema, []))).toEqual(['concurrency', 'description', 'name', 'on_failure', 'rate_limit', 'record_io', 'retention', 'steps', 'trigger']);
    expect(keysAt(schema, []).find((k) => k.name === 'name')).toMatchObject({ required: true, description: expect.stringContaining('Unique name') });
    expect(keysAt(schema, []).find((k) => k.name === 'trigger')?.description).toBe('How runs start.');
  });

  it('offers a step’s keys, however nested', () => {
    const step = names(keysAt(schema, ['steps', 0]));
    for (const k of ['id', 'action', 'connection', 'transform', 'call', 'respond', 'input', 'if', 'then', 'else', 'switch', 'cases', 'default', 'for_each', 'steps', 'delay', 'delay_until', 'retry', 'on_error', 'concurrency']) expect(step).toContain(k);
    expect(names(keysAt(schema, ['steps', 3, 'then', 0, 'on_error', 'branch', 1, 'cases', 'x', 0]))).toEqual(step);
    expect(names(keysAt(schema, ['steps', 0, 'retry']))).toEqual(['initial_backoff', 'max_attempts', 'max_backoff']);
    expect(names(keysAt(schema, ['steps', 0, 'on_error']))).toEqual(['branch']);
    expect(keysAt(schema, ['steps', 0, 'input'])).toEqual([]);
    expect(keysAt(schema, ['name'])).toEqual([]);
  });

  it('offers the trigger variants and a connector trigger’s keys', () => {
    expect(names(keysAt(schema, ['trigger']))).toEqual(['polling', 'schedule', 'webhook']);
    expect(names(keysAt(schema, ['trigger', 'polling']))).toEqual(['config', 'connection', 'connector', 'events', 'fallback_poll', 'interval', 'sync', 'trigger']);
    expect(names(keysAt(schema, ['trigger', 'schedule']))).toEqual(['cron', 'timezone']);
  });

  it('offers enumerated values', () => {
    expect(valuesAt(schema, ['steps', 0], 'on_error').map((v) => v.value)).toEqual(['fail', 'continue']);
    expect(valuesAt(schema, ['steps', 0], 'on_error')[0].description).toContain('The run fails');
    expect(valuesAt(schema, [], 'trigger').map((v) => v.value)).toEqual(['manual']);
    expect(valuesAt(schema, ['trigger', 'webhook'], 'sync').map((v) => v.value)).toEqual(['true', 'false']);
    expect(valuesAt(schema, [], 'name')).toEqual([]);
    expect(valuesAt(schema, ['steps', 0, 'then', 2], 'on_error').map((v) => v.value)).toEqual(['fail', 'continue']);
  });
});

describe('stepIdAt', () => {
  it('names the innermost step around the cursor', () => {
    const at = (needle: string) => stepOf(contactSync.replace(needle, `${needle}‸`));
    expect(at('input: "{{ trigger')).toBe('clean');
    expect(at('email: "{{ steps.clean')).toBe('create');
    expect(at('crm_id: "{{ steps.create')).toBe('done');
    expect(at('if: steps.create')).toBe('check');
    expect(at('description: Tidy')).toBeNull();
  });

  it('finds the id wherever it is in the step, and in every kind of step list', () => {
    expect(stepOf('steps:\n  - action: x\n    input: "{{ ‸"\n    id: late\n')).toBe('late');
    expect(stepOf('steps:\n  - id: a\n    input: "{{ ‸"\n')).toBe('a');
    expect(stepOf('steps:\n  - transform: t\n    input: ‸\n')).toBeNull();
    expect(stepOf('steps:\n  - id: s\n    switch: x\n    cases:\n      a:\n        - id: in_case\n          input: ‸\n')).toBe('in_case');
    expect(stepOf('steps:\n  - id: s\n    switch: x\n    default:\n      - id: dflt\n        input: ‸\n')).toBe('dflt');
    expect(stepOf('steps:\n  - id: s\n    action: a\n    on_error:\n      branch:\n        - id: handler\n          input: ‸\n')).toBe('handler');
    expect(stepOf('steps:\n  - id: each\n    for_each: trigger.items\n    steps:\n      - id: body\n        input: ‸\n    concurrency: 2\n')).toBe('body');
    expect(stepOf('steps:\n  - id: each\n    for_each: trigger.items\n    steps:\n      - id: body\n    input: ‸\n')).toBe('each');
    expect(stepOf('steps:\n  - { id: flow, input: "{{ ‸" }\n')).toBe('flow');
    expect(stepOf('trigger:\n  polling:\n    config: ‸\nsteps:\n  - id: a\n')).toBeNull();
  });
});

describe('expressions', () => {
  it('sees an unclosed {{ before the cursor', () => {
    const [t, at] = caret('    input: "{{ steps.cl‸ }}"');
    expect(expressionAt(t, at)).toEqual({ from: at - 8, prefix: 'steps.cl' });
    expect(expressionClosed(t, at)).toBe(true);
    const [t2, at2] = caret('    input: "{{ ‸');
    expect(expressionAt(t2, at2)).toEqual({ from: at2, prefix: '' });
    expect(expressionClosed(t2, at2)).toBe(false);
    expect(expressionAt(...caret('    input: "{{ a }} ‸'))).toBeNull();
    expect(expressionClosed(...caret('x: "{{ ‸ {{ b }}"'))).toBe(false);
  });
});

describe('locate', () => {
  it('parses paths', () => {
    expect(parsePath('steps.check.then[0].input')).toEqual(['steps', 'check', 'then', 0, 'input']);
    expect(parsePath('steps[0].transfrom')).toEqual(['steps', 0, 'transfrom']);
    expect(parsePath('')).toEqual([]);
  });

  it('finds top-level keys and the trigger’s fields under its variant', () => {
    expect(cover(contactSync, 'name')).toBe('name');
    expect(lineAt(contactSync, 'name')).toBe(2);
    expect(cover(contactSync, 'trigger')).toBe('trigger');
    expect(cover(newContactToLead, 'trigger.connector')).toBe('connector');
    expect(lineAt(newContactToLead, 'trigger.connector')).toBe(8);
    expect(cover(newContactToLead, 'trigger.config.collection')).toBe('collection');
    expect(lineAt(newContactToLead, 'trigger.config.collection')).toBe(11);
    expect(cover(newContactToLead, 'trigger.polling.interval')).toBe('interval');
    // A variant field that is not there: the variant key.
    expect(cover(newContactToLead, 'trigger.fallback_poll')).toBe('polling');
    // `trigger: manual` has no fields.
    expect(cover(contactSync, 'trigger.connector')).toBe('trigger');
  });

  it('finds steps by id however nested, then follows the path', () => {
    expect(cover(contactSync, 'steps.create.input.url')).toBe('url');
    expect(lineAt(contactSync, 'steps.create.input.url')).toBe(14);
    expect(cover(contactSync, 'steps.create')).toBe('create');
    expect(lineAt(contactSync, 'steps.create')).toBe(9);
    expect(cover(contactSync, 'steps.done.input.crm_id')).toBe('crm_id');
    expect(lineAt(contactSync, 'steps.done.input.crm_id')).toBe(25);
    expect(cover(contactSync, 'steps.create.retry.max_attempts')).toBe('max_attempts');
    expect(cover(newContactToLead, 'steps.reshape.input.program')).toBe('program');
    expect(cover(newContactToLead, 'steps.post.input.body')).toBe('body');
  });

  it('finds steps by index', () => {
    expect(cover(contactSync, 'steps[2]')).toBe('id: check');
    expect(cover(contactSync, 'steps.check.then[0]')).toBe('id: done');
    expect(cover(contactSync, 'steps.check.then[0].input')).toBe('input');
    expect(lineAt(contactSync, 'steps.check.then[0].input')).toBe(25);
    expect(cover(contactSync, 'steps[1].input.method')).toBe('method');
  });

  it('finds an unknown key from a parse error', () => {
    const text = contactSync.replace('    transform: clean-contact\n    input: "{{ trigger }}"', '    transfrom: clean-contact\n    input: "{{ trigger }}"');
    expect(cover(text, 'steps[0].transfrom')).toBe('transfrom');
    expect(lineAt(text, 'steps[0].transfrom')).toBe(7);
  });

  it('falls back to the deepest prefix found', () => {
    expect(cover(contactSync, 'steps.create.input.body.phone')).toBe('body');
    const text = contactSync.replace('      url: /contacts\n', '');
    expect(cover(text, 'steps.create.input.url')).toBe('input');
    expect(cover(contactSync, 'steps.nosuch.input')).toBe('steps');
    expect(cover(contactSync, 'steps[9]')).toBe('steps');
    expect(cover(contactSync, 'steps.check.then[3].input')).toBe('then');
    expect(locate(contactSync, 'nosuch')).toBeNull();
    expect(locate(contactSync, '')).toBeNull();
    expect(locate('', 'name')).toBeNull();
  });

  it('places problems by line and column, path, or on line 1', () => {
    const text = 'name: x\ntrigger: manual\nsteps: []\n';
    expect(problemRange(text, { path: '', message: 'bad', line: 2, column: 10 })).toEqual({ from: 17, to: 23 });
    expect(problemRange(text, { path: '', message: 'bad', line: 9, column: 99 })).toEqual({ from: 34, to: 34 });
    expect(problemRange(text, { path: 'steps', message: 'empty' })).toEqual({ from: 24, to: 29 });
    expect(problemRange(text, { path: 'retention', message: 'x' })).toEqual({ from: 0, to: 7 });
    expect(problemRange('', { path: 'name', message: 'x' })).toEqual({ from: 0, to: 0 });
    expect(problemMessage({ path: 'steps', message: 'empty' })).toBe('steps: empty');
    expect(problemMessage({ path: '', message: 'syntax' })).toBe('syntax');
  });

  it('copes with text that does not parse', () => {
    const text = 'name: x\nsteps:\n  - id: a\n    input: {\n';
    expect(cover(text, 'steps.a.input')).toBe('input');
    expect(cover('name: [\n', 'name')).toBe('name');
  });
});

describe('completionsAt', () => {
  const complete = (marked: string, explicit = true, expressionPaths?: (id: string | null) => string[]) => {
    const [text, at] = caret(marked);
    return completionsAt(schema, text, at, { explicit, expressionPaths });
  };
  const labels = (r: ReturnType<typeof completionsAt>) => r?.options.map((o) => o.label).sort();

  it('offers the keys not yet in the mapping, applied as `key: `', () => {
    const r = complete('name: x\ntrigger:\n  polling:\n    connector: records\n    ‸\n    interval: 5m\n');
    expect(labels(r)).toEqual(['config', 'connection', 'events', 'fallback_poll', 'sync', 'trigger']);
    expect(r?.options.find((o) => o.label === 'trigger')).toMatchObject({ apply: 'trigger: ', type: 'property', detail: 'required', info: expect.stringContaining('manifest') });
    const step = complete('steps:\n  - id: a\n    tra‸');
    expect(step?.from).toBe(21);
    expect(labels(step)).toContain('transform');
    expect(labels(step)).not.toContain('id');
    expect(labels(complete('name: x\n‸\nsteps: []\n'))).toEqual(['concurrency', 'description', 'on_failure', 'rate_limit', 'record_io', 'retention', 'trigger']);
  });

  it('keeps an existing colon', () => {
    const [text, at] = caret('steps:\n  - id: a\n    tr‸ans: x\n');
    const r = completionsAt(schema, text, at, { explicit: true });
    expect(r).toMatchObject({ from: at - 2, to: at + 3 });
    expect(r?.options.find((o) => o.label === 'transform')?.apply).toBe('transform');
  });

  it('offers keys while typing only once a word is started', () => {
    expect(complete('name: x\n‸', false)).toBeNull();
    expect(labels(complete('name: x\nst‸', false))).toContain('steps');
  });

  it('offers enumerated values', () => {
    expect(labels(complete('steps:\n  - id: a\n    on_error: ‸', false))).toEqual(['continue', 'fail']);
    expect(complete('steps:\n  - id: a\n    on_error: f‸')?.from).toBe(31);
    expect(labels(complete('trigger: ‸'))).toEqual(['manual']);
    // Right after the colon: a space is added, and only when asked.
    expect(complete('trigger:‸')?.options[0].apply).toBe(' manual');
    expect(complete('trigger:‸', false)).toBeNull();
    expect(labels(complete('trigger:\n  webhook:\n    sync: ‸'))).toEqual(['false', 'true']);
    expect(complete('name: ‸')).toBeNull();
  });

  it('offers the expression paths of the step around the cursor, closing the braces', () => {
    const asked: (string | null)[] = [];
    const paths = (id: string | null) => {
      asked.push(id);
      return id ? ['trigger', `steps.${id}.output`] : ['trigger'];
    };
    const r = complete('steps:\n  - id: a\n    input: "{{ ‸', false, paths);
    expect(r?.options.map((o) => o.apply)).toEqual(['trigger }}', 'steps.a.output }}']);
    expect(asked).toEqual(['a']);
    const closed = complete('steps:\n  - id: a\n    input: "{{ steps.‸ }}"', false, paths);
    expect(closed?.options.map((o) => o.apply)).toEqual(['trigger', 'steps.a.output']);
    expect(closed?.from).toBe(32);
    expect(complete('trigger:\n  polling:\n    config: { q: "{{‸', true, paths)?.options.map((o) => o.apply)).toEqual([' trigger }}']);
    expect(asked.at(-1)).toBeNull();
    expect(complete('steps:\n  - id: a\n    input: "{{ ‸}}"', false, paths)?.options.map((o) => o.apply)).toEqual(['trigger ', 'steps.a.output ']);
    expect(complete('x: "{{ a }} ‸', true, paths)).toBeNull();
    expect(complete('x: "{{ ‸', true)).toBeNull();
  });
});

describe('robustness', () => {
  const examples = import.meta.glob<string>('../../../../examples/*.yaml', { query: '?raw', import: 'default', eager: true });

  it('answers at every offset of every example, whole or cut there', () => {
    expect(Object.keys(examples).length).toBeGreaterThan(5);
    const paths = (id: string | null) => (id ? [`steps.${id}.output`] : ['trigger']);
    for (const text of Object.values(examples)) {
      for (let at = 0; at <= text.length; at++) {
        for (const t of [text, text.slice(0, at)]) {
          expect(() => completionsAt(schema, t, at, { explicit: true, expressionPaths: paths })).not.toThrow();
          expect(Array.isArray(pathAt(t, at))).toBe(true);
        }
      }
      for (const e of outline(text)) expect(locate(text, e.path.join('.').replace(/\.(\d+)/g, '[$1]'))).not.toBeNull();
    }
  });

  it('agrees with the yaml parser on where every key is', () => {
    for (const text of Object.values(examples)) {
      for (const e of outline(text)) {
        const path = e.path.map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join('').slice(1);
        expect(locate(text, path), path).toEqual({ from: e.from, to: e.to });
      }
    }
  });
});
