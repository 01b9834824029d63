// @vitest-environment jsdom
// The schema-driven input form: controls from the schema, values that round-trip unchanged,
// expression mode for typed fields, the generic JSON editor, and where problems show.
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Json } from '../types';
import { SchemaForm, type SchemaFormProps } from './SchemaForm';
import type { InsertTarget, JsonSchema } from './shared';

const methodSchema = { type: 'string', enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], description: 'The HTTP method' };
const httpProperties = {
  method: methodSchema,
  url: { type: 'string' },
  headers: { type: 'object', additionalProperties: { type: 'string' } },
  body: {},
  timeout_ms: { type: 'integer' },
};
const http: JsonSchema = { type: 'object', required: ['url'], properties: httpProperties, additionalProperties: false };
const store: JsonSchema = {
  type: 'object',
  required: ['collection', 'record'],
  properties: { collection: { type: 'string' }, record: { type: 'object' } },
};
const paths = ['trigger', 'trigger.id', 'trigger.timeout', 'steps.fetch.output', 'steps.fetch.output.email'];

afterEach(() => cleanup());

/** The form with its value in state; every onChange is recorded. */
function setup(schema: JsonSchema | undefined, initial: Json | undefined, props: Partial<SchemaFormProps> = {}) {
  const changes: (Json | undefined)[] = [];
  function Harness() {
    const [value, setValue] = useState(initial);
    return (
      <SchemaForm
        schema={schema}
        value={value}
        onChange={(v) => {
          changes.push(v);
          setValue(v);
        }}
        paths={paths}
        {...props}
      />
    );
  }
  render(<Harness />);
  return { changes, last: () => changes.at(-1) };
}

function field(path: string) {
  return screen.getByTestId(`input-field-${path}`) as HTMLInputElement;
}

/** The row (label, control, problem) of the field at `path`. */
function row(path: string) {
  return field(path).closest('.sf-field') as HTMLElement;
}

describe('controls from the schema', () => {
  it('marks required fields, lists enum choices and shows descriptions', () => {
    setup(http, undefined);
    expect(row('url').querySelector('.sf-label .req')?.textContent).toBe('*');
    expect(row('method').querySelector('.req')).toBeNull();
    const method = field('method') as unknown as HTMLSelectElement;
    expect(method.tagName).toBe('SELECT');
    expect(Array.from(method.options).map((o) => o.textContent)).toEqual(['', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
    expect(method.value).toBe('');
    expect(row('method').textContent).toContain('The HTTP method');
    expect(field('url').type).toBe('text');
    expect(field('timeout_ms').type).toBe('number');
    // a schema-less field is generic JSON, a typed map a group of fields
    expect(screen.getByTestId('input-as-expr-body')).toBeTruthy();
    expect(screen.getByTestId('input-newkey-headers')).toBeTruthy();
    // additionalProperties: false → no "Add field" at the top
    expect(screen.queryByTestId('input-newkey-root')).toBeNull();
  });

  it('edits one key and leaves the others, in their order', () => {
    const { changes, last } = setup(http, { method: 'POST', headers: { Accept: 'text/plain' }, timeout_ms: 10 });
    fireEvent.change(field('url'), { target: { value: 'https://{{ trigger.host }}/x' } });
    expect(last()).toEqual({ method: 'POST', headers: { Accept: 'text/plain' }, timeout_ms: 10, url: 'https://{{ trigger.host }}/x' });
    expect(Object.keys(last() as object)).toEqual(['method', 'headers', 'timeout_ms', 'url']);
    fireEvent.change(field('method'), { target: { value: '3' } });
    expect(Object.keys(last() as object)).toEqual(['method', 'headers', 'timeout_ms', 'url']);
    expect((last() as { method: string }).method).toBe('PATCH');
    fireEvent.change(field('timeout_ms'), { target: { value: '2500' } });
    expect((last() as { timeout_ms: number }).timeout_ms).toBe(2500);
    fireEvent.change(field('headers.Accept'), { target: { value: 'application/json' } });
    expect((last() as { headers: Json }).headers).toEqual({ Accept: 'application/json' });
    expect(changes).toHaveLength(4);
  });

  it('creates the object on the first edit of an empty input', () => {
    const { last } = setup(http, undefined);
    fireEvent.change(field('url'), { target: { value: 'https://x' } });
    expect(last()).toEqual({ url: 'https://x' });
  });

  it('removes a cleared optional field, keeps a required one as ""', () => {
    const { last } = setup(
      { type: 'object', required: ['must'], properties: { must: { type: 'string' }, note: { type: 'string' }, method: methodSchema, n: { type: 'number' } } },
      { must: 'a', note: 'b', method: 'GET', n: 1.5 },
    );
    fireEvent.change(field('note'), { target: { value: '' } });
    expect(last()).toEqual({ must: 'a', method: 'GET', n: 1.5 });
    fireEvent.change(field('must'), { target: { value: '' } });
    expect(last()).toEqual({ must: '', method: 'GET', n: 1.5 });
    fireEvent.change(field('method'), { target: { value: '' } });
    fireEvent.change(field('n'), { target: { value: '' } });
    expect(last()).toEqual({ must: '' });
  });

  it('writes an optional boolean only when clicked', () => {
    const schema: JsonSchema = { type: 'object', properties: { a: { type: 'string' }, flag: { type: 'boolean' } } };
    const { last } = setup(schema, { a: 'x' });
    const box = field('flag');
    expect(box.checked).toBe(false);
    expect(row('flag').textContent).toContain('not set');
    fireEvent.click(box);
    expect(last()).toEqual({ a: 'x', flag: true });
    fireEvent.click(box);
    expect(last()).toEqual({ a: 'x', flag: false });
    fireEvent.click(screen.getByTestId('input-unset-flag'));
    expect(last()).toEqual({ a: 'x' });
  });
});

describe('nothing is lost', () => {
  it('round-trips a value untouched: no onChange from rendering, focusing or blurring', () => {
    const value: Json = {
      timeout_ms: '{{ trigger.timeout }}',
      url: 'https://api/{{ trigger.id }}',
      extra: { nested: [1, { two: null }] },
      headers: { 'X-A': 'a', 'X-N': 5 },
      body: { email: '{{ steps.fetch.output.email }}', list: [true] },
      method: 'PATCH',
    };
    const copy = structuredClone(value);
    const onChange = vi.fn();
    const { rerender, container } = render(<SchemaForm schema={http} value={value} onChange={onChange} paths={paths} />);
    for (const el of Array.from(container.querySelectorAll<HTMLElement>('input, select, textarea'))) {
      act(() => el.focus());
      act(() => el.blur());
    }
    rerender(<SchemaForm schema={http} value={value} onChange={onChange} paths={paths} problems={{ url: 'bad' }} />);
    expect(onChange).not.toHaveBeenCalled();
    expect(value).toEqual(copy);
    // every key is on screen
    expect((field('extra') as unknown as HTMLTextAreaElement).value).toBe(JSON.stringify(copy.extra, null, 2));
    expect(row('extra').querySelector('.tag')?.textContent).toBe('extra');
    expect((field('headers.X-N') as unknown as HTMLTextAreaElement).value).toBe('5');
  });

  it('keeps a key the schema does not know while editing others, and removes it on request', () => {
    const { last } = setup(http, { legacy: { a: 1 }, url: 'u' });
    fireEvent.change(field('url'), { target: { value: 'v' } });
    expect(last()).toEqual({ legacy: { a: 1 }, url: 'v' });
    expect(Object.keys(last() as object)).toEqual(['legacy', 'url']);
    fireEvent.click(screen.getByTestId('input-remove-legacy'));
    expect(last()).toEqual({ url: 'v' });
    expect(screen.queryByTestId('input-field-legacy')).toBeNull();
  });

  it('adds a key typed by additionalProperties', () => {
    const { last } = setup(http, { url: 'u' });
    fireEvent.change(screen.getByTestId('input-newkey-headers'), { target: { value: 'Accept' } });
    fireEvent.click(screen.getByTestId('input-addkey-headers'));
    expect(last()).toEqual({ url: 'u', headers: { Accept: '' } });
    // an empty value of an added key stays (it has a remove button)
    fireEvent.change(field('headers.Accept'), { target: { value: 'x' } });
    fireEvent.change(field('headers.Accept'), { target: { value: '' } });
    expect(last()).toEqual({ url: 'u', headers: { Accept: '' } });
    // a name already there is refused
    fireEvent.change(screen.getByTestId('input-newkey-headers'), { target: { value: 'Accept' } });
    expect((screen.getByTestId('input-addkey-headers') as HTMLButtonElement).disabled).toBe(true);
  });
});

describe('expressions in typed fields', () => {
  it('shows an integer field holding an expression in expression mode', () => {
    setup(http, { url: 'u', timeout_ms: '{{ trigger.timeout }}' });
    expect(field('timeout_ms').type).toBe('text');
    expect(field('timeout_ms').value).toBe('{{ trigger.timeout }}');
    expect(screen.getByTestId('input-fx-timeout_ms').getAttribute('aria-pressed')).toBe('true');
    expect(screen.getByTestId('input-fx-timeout_ms').getAttribute('aria-label')).toBe('Use an expression');
    // an enum value that is not a choice is an expression too
    cleanup();
    setup(http, { url: 'u', method: '{{ trigger.method }}' });
    expect(field('method').tagName).toBe('INPUT');
    expect(field('method').value).toBe('{{ trigger.method }}');
  });

  it('toggles a field between its typed control and an expression', () => {
    const { last } = setup(http, { url: 'u', timeout_ms: 5000 });
    const fx = screen.getByTestId('input-fx-timeout_ms');
    expect(fx.getAttribute('aria-pressed')).toBe('false');
    fireEvent.click(fx);
    expect(field('timeout_ms').type).toBe('text');
    expect(last()).toEqual({ url: 'u', timeout_ms: '5000' });
    // back: a value that fits is restored
    fireEvent.click(fx);
    expect(field('timeout_ms').type).toBe('number');
    expect(last()).toEqual({ url: 'u', timeout_ms: 5000 });
    // an expression that does not fit is cleared
    fireEvent.click(fx);
    fireEvent.change(field('timeout_ms'), { target: { value: '{{ trigger.timeout }}' } });
    expect(last()).toEqual({ url: 'u', timeout_ms: '{{ trigger.timeout }}' });
    fireEvent.click(fx);
    expect(last()).toEqual({ url: 'u' });
    expect(field('timeout_ms').type).toBe('number');
    // an unset field switches without writing anything
    const before = last();
    fireEvent.click(screen.getByTestId('input-fx-method'));
    expect(field('method').tagName).toBe('INPUT');
    expect(last()).toBe(before);
  });

  it('takes a dropped or panel-inserted expression on a typed control', () => {
    let target: InsertTarget | null = null;
    const { last } = setup(http, { url: 'u' }, { onFocusTarget: (t) => (target = t) });
    fireEvent.drop(field('timeout_ms'), { dataTransfer: { types: ['text/plain'], getData: () => '{{ trigger.timeout }}' } });
    expect(last()).toEqual({ url: 'u', timeout_ms: '{{ trigger.timeout }}' });
    expect(field('timeout_ms').type).toBe('text');
    act(() => field('method').focus());
    act(() => target!('{{ trigger.method }}'));
    expect(last()).toEqual({ url: 'u', timeout_ms: '{{ trigger.timeout }}', method: '{{ trigger.method }}' });
    // an expression field inserts at its cursor
    act(() => field('url').focus());
    act(() => target!('{{ trigger.id }}'));
    expect((last() as { url: string }).url).toBe('u{{ trigger.id }}');
  });

  it('completes data paths in string fields', () => {
    const { last } = setup(http, { url: 'u' });
    fireEvent.change(field('url'), { target: { value: '{{ st' } });
    expect(within(screen.getByTestId('input-field-url-completion')).getAllByRole('option').map((o) => o.textContent)).toEqual(['steps.fetch.output', 'steps.fetch.output.email']);
    fireEvent.keyDown(field('url'), { key: 'ArrowDown' });
    fireEvent.keyDown(field('url'), { key: 'Enter' });
    expect(last()).toEqual({ url: '{{ steps.fetch.output.email }}' });
  });
});

describe('generic JSON', () => {
  it('edits an object without properties as JSON, keeping text that does not parse', () => {
    const { changes, last } = setup(store, { collection: 'c', record: { a: 1 } });
    const text = field('record') as unknown as HTMLTextAreaElement;
    expect(text.tagName).toBe('TEXTAREA');
    expect(text.value).toBe('{\n  "a": 1\n}');
    fireEvent.change(text, { target: { value: '{"a": ' } });
    expect(changes).toHaveLength(0);
    expect(text.value).toBe('{"a": ');
    expect(screen.getByTestId('input-json-error-record').textContent).toMatch(/^not JSON: /);
    fireEvent.change(text, { target: { value: '{"a": 2, "email": "{{ trigger.email }}"}' } });
    expect(last()).toEqual({ collection: 'c', record: { a: 2, email: '{{ trigger.email }}' } });
    // the text stays as typed
    expect(text.value).toBe('{"a": 2, "email": "{{ trigger.email }}"}');
    expect(screen.queryByTestId('input-json-error-record')).toBeNull();
  });

  it('switches between JSON and an expression', () => {
    const { last } = setup(store, { collection: 'c', record: { a: 1 } });
    fireEvent.click(screen.getByTestId('input-as-expr-record'));
    expect(last()).toEqual({ collection: 'c', record: '{"a":1}' });
    fireEvent.change(field('record'), { target: { value: '{{ steps.fetch.output }}' } });
    expect(field('record').tagName).toBe('INPUT');
    expect(last()).toEqual({ collection: 'c', record: '{{ steps.fetch.output }}' });
    // a string that is not JSON shows as a JSON string
    fireEvent.click(screen.getByTestId('input-as-json-record'));
    expect((field('record') as unknown as HTMLTextAreaElement).value).toBe('"{{ steps.fetch.output }}"');
    expect(last()).toEqual({ collection: 'c', record: '{{ steps.fetch.output }}' });
  });

  it('edits a transform input (no schema) as an expression or JSON at the root', () => {
    const { last } = setup(undefined, '{{ trigger }}');
    const root = screen.getByTestId('input-root') as HTMLInputElement;
    expect(root.tagName).toBe('INPUT');
    expect(root.value).toBe('{{ trigger }}');
    fireEvent.change(root, { target: { value: '' } });
    expect(last()).toBeUndefined();
    cleanup();
    const onChange = vi.fn();
    render(<SchemaForm schema={undefined} value={{ program: '.a', data: '{{ trigger }}' }} onChange={onChange} paths={paths} testId="t" />);
    expect((screen.getByTestId('t-root') as HTMLTextAreaElement).value).toBe('{\n  "program": ".a",\n  "data": "{{ trigger }}"\n}');
    expect(onChange).not.toHaveBeenCalled();
  });
});

describe('arrays', () => {
  it('adds, moves and removes items', () => {
    const schema: JsonSchema = { type: 'object', properties: { tags: { type: 'array', items: { type: 'string' } } } };
    const { last } = setup(schema, { tags: ['a', 'b'] });
    expect(field('tags[1]').value).toBe('b');
    fireEvent.click(screen.getByTestId('input-add-tags'));
    expect(last()).toEqual({ tags: ['a', 'b', ''] });
    fireEvent.change(field('tags[2]'), { target: { value: 'c' } });
    fireEvent.click(screen.getByTestId('input-up-tags[2]'));
    expect(last()).toEqual({ tags: ['a', 'c', 'b'] });
    fireEvent.click(screen.getByTestId('input-down-tags[0]'));
    expect(last()).toEqual({ tags: ['c', 'a', 'b'] });
    fireEvent.click(screen.getByTestId('input-remove-tags[1]'));
    expect(last()).toEqual({ tags: ['c', 'b'] });
    // a group collapses to its size
    fireEvent.click(screen.getByRole('button', { name: 'Collapse tags' }));
    expect(screen.queryByTestId('input-field-tags[0]')).toBeNull();
    expect(screen.getByText('2 items')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Expand tags' }));
    expect(field('tags[0]').value).toBe('c');
  });
});

describe('problems', () => {
  it('shows a problem on its field and lists the others on top', () => {
    const schema: JsonSchema = { type: 'object', required: ['url'], properties: { ...httpProperties, items: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } } } };
    setup(
      schema,
      { url: 'u', body: { deep: 1 }, items: [{ name: 'a' }] },
      {
        problems: {
          url: 'is not a URL',
          'items.0.name': 'too short',
          '': '"method" is a required property',
          'body.deep': 'must be a string',
        },
      },
    );
    expect(screen.getByTestId('input-problem-url').textContent).toBe('is not a URL');
    expect(screen.getByTestId('input-problem-url').className).toContain('error-text');
    expect(row('url').className).toContain('invalid');
    expect(field('url').className).toContain('invalid');
    expect(field('method').className).not.toContain('invalid');
    // the server's JSON-pointer spelling of an item path lands on the item
    expect(screen.getByTestId('input-problem-items[0].name').textContent).toBe('too short');
    const top = screen.getByTestId('input-problems');
    expect(top.querySelectorAll('li')).toHaveLength(2);
    expect(top.textContent).toContain('"method" is a required property');
    expect(top.textContent).toContain('body.deep');
    expect(top.textContent).toContain('must be a string');
  });
});
