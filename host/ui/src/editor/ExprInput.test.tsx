// @vitest-environment jsdom
// The expression input: `{{ path }}` completion, insertion at the cursor for the data panel,
// drops left to the browser, and the debounced preview.
import { act, cleanup, createEvent, fireEvent, render, screen, within } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExprInput, type ExprInputProps } from './ExprInput';
import type { InsertTarget, Preview } from './shared';

const paths = ['trigger', 'trigger.id', 'steps.fetch.output', 'steps.fetch.output.email', 'steps.fetch.output.name', 'steps.clean.output'];

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

/** The input with its value in state; every onChange is recorded. */
function setup(initial = '', props: Partial<ExprInputProps> = {}) {
  const changes: string[] = [];
  function Harness() {
    const [value, setValue] = useState(initial);
    return (
      <ExprInput
        value={value}
        onChange={(v) => {
          changes.push(v);
          setValue(v);
        }}
        paths={paths}
        testId="e"
        ariaLabel="expression"
        {...props}
      />
    );
  }
  render(<Harness />);
  return { input: screen.getByTestId('e') as HTMLInputElement, changes };
}

/** Types `value` with the cursor at `cursor` (default: the end). */
function type(input: HTMLInputElement | HTMLTextAreaElement, value: string, cursor = value.length) {
  fireEvent.change(input, { target: { value, selectionStart: cursor, selectionEnd: cursor } });
}

function options() {
  return within(screen.getByTestId('e-completion'))
    .getAllByRole('option')
    .map((o) => o.textContent);
}

describe('completion', () => {
  it('offers the paths starting with the partial text after {{ and Enter inserts the full expression', () => {
    const { input } = setup();
    type(input, '{{ st');
    expect(screen.getByRole('listbox')).toBe(screen.getByTestId('e-completion'));
    expect(options()).toEqual(['steps.fetch.output', 'steps.fetch.output.email', 'steps.fetch.output.name', 'steps.clean.output']);
    type(input, '{{ steps.fetch.output.');
    expect(options()).toEqual(['steps.fetch.output.email', 'steps.fetch.output.name']);
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(input.value).toBe('{{ steps.fetch.output.email }}');
    expect(input.selectionStart).toBe(input.value.length);
    expect(screen.queryByTestId('e-completion')).toBeNull();
  });

  it('moves with the arrow keys, accepts with Tab or a click, closes with Escape', () => {
    const { input } = setup();
    type(input, 'Hi {{');
    expect(options()).toHaveLength(paths.length);
    fireEvent.keyDown(input, { key: 'ArrowDown' });
    fireEvent.keyDown(input, { key: 'ArrowDown' });
    fireEvent.keyDown(input, { key: 'ArrowUp' });
    expect(within(screen.getByTestId('e-completion')).getByRole('option', { selected: true }).textContent).toBe('trigger.id');
    fireEvent.keyDown(input, { key: 'Tab' });
    expect(input.value).toBe('Hi {{ trigger.id }}');

    type(input, 'Hi {{ trigger.id }} {{steps.c');
    fireEvent.keyDown(input, { key: 'Escape' });
    expect(screen.queryByTestId('e-completion')).toBeNull();
    type(input, 'Hi {{ trigger.id }} {{steps.cl');
    fireEvent.click(screen.getByRole('option', { name: 'steps.clean.output' }));
    expect(input.value).toBe('Hi {{ trigger.id }} {{ steps.clean.output }}');
  });

  it('does not add closing braces that are already there and replaces the rest of the path word', () => {
    const { input } = setup();
    type(input, '{{ tr }} and more', 5);
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(input.value).toBe('{{ trigger }} and more');
    expect(input.selectionStart).toBe('{{ trigger }}'.length);

    type(input, 'x {{ steps.fe.output }}', 'x {{ steps.fe'.length);
    fireEvent.keyDown(input, { key: 'ArrowDown' });
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(input.value).toBe('x {{ steps.fetch.output.email }}');
  });

  it('shows nothing without {{ or without a matching path, and at most 50 options', () => {
    const many = Array.from({ length: 80 }, (_, i) => `trigger.f${i}`);
    const { input } = setup('', { paths: many });
    type(input, 'trigger.');
    expect(screen.queryByRole('listbox')).toBeNull();
    type(input, '{{ nothing');
    expect(screen.queryByRole('listbox')).toBeNull();
    type(input, '{{ trigger.f');
    expect(options()).toHaveLength(50);
  });

  it('does not swallow Enter when the list is closed', () => {
    const { input } = setup('plain');
    const enter = createEvent.keyDown(input, { key: 'Enter' });
    fireEvent(input, enter);
    expect(enter.defaultPrevented).toBe(false);
  });
});

describe('data panel', () => {
  it('hands out an insert function on focus that inserts at the remembered cursor', () => {
    let target: InsertTarget | null = null;
    const onFocusTarget = vi.fn((t: InsertTarget | null) => {
      target = t;
    });
    const { input, changes } = setup('Hello world', { onFocusTarget });
    act(() => input.focus());
    expect(onFocusTarget).toHaveBeenCalledTimes(1);
    input.setSelectionRange(6, 6);
    fireEvent.select(input);
    act(() => input.blur());
    // blurring does not withdraw the target: the panel click blurs the field first
    expect(onFocusTarget).toHaveBeenCalledTimes(1);
    act(() => target!('{{ trigger.id }}'));
    expect(changes.at(-1)).toBe('Hello {{ trigger.id }}world');
    expect(input.value).toBe('Hello {{ trigger.id }}world');
    // the next insertion goes after the first
    act(() => target!('!'));
    expect(input.value).toBe('Hello {{ trigger.id }}!world');
  });

  it('replaces the selection', () => {
    let target: InsertTarget | null = null;
    const { input } = setup('say NAME now', { onFocusTarget: (t) => (target = t) });
    act(() => input.focus());
    input.setSelectionRange(4, 8);
    fireEvent.select(input);
    act(() => target!('{{ trigger.name }}'));
    expect(input.value).toBe('say {{ trigger.name }} now');
  });

  it('leaves drops to the browser (not prevented) and follows the input event', () => {
    const { input, changes } = setup('a ');
    const dataTransfer = { types: ['text/plain'], getData: () => '{{ trigger.id }}' };
    const over = createEvent.dragOver(input, { dataTransfer });
    fireEvent(input, over);
    const drop = createEvent.drop(input, { dataTransfer });
    fireEvent(input, drop);
    expect(over.defaultPrevented).toBe(false);
    expect(drop.defaultPrevented).toBe(false);
    // what the browser does after a drop into a text field
    type(input, 'a {{ trigger.id }}');
    expect(changes).toEqual(['a {{ trigger.id }}']);
  });
});

describe('look', () => {
  it('marks an invalid field and turns into a textarea for multi-line values', () => {
    const { input } = setup('line 1\nline 2', { invalid: true });
    expect(input.tagName).toBe('TEXTAREA');
    expect(input.className).toContain('invalid');
  });
});

describe('preview', () => {
  it('previews the text 300 ms after the last change, ignoring stale answers', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const pending: Record<string, (p: Preview) => void> = {};
    const preview = vi.fn((text: string) => new Promise<Preview>((resolve) => (pending[text] = resolve)));
    const { input } = setup('', { preview });
    type(input, '{{ trigger');
    await act(() => vi.advanceTimersByTimeAsync(100));
    type(input, '{{ trigger.id }}');
    await act(() => vi.advanceTimersByTimeAsync(299));
    expect(preview).not.toHaveBeenCalled();
    await act(() => vi.advanceTimersByTimeAsync(1));
    expect(preview).toHaveBeenCalledTimes(1);
    expect(preview).toHaveBeenCalledWith('{{ trigger.id }}');

    // a newer text is typed before the answer comes: the old answer is not shown
    type(input, '{{ trigger.id }} x');
    await act(async () => pending['{{ trigger.id }}']({ value: 42 }));
    expect(screen.queryByTestId('e-preview')).toBeNull();
    await act(() => vi.advanceTimersByTimeAsync(300));
    await act(async () => pending['{{ trigger.id }} x']({ value: { id: 'x'.repeat(300) } }));
    const shown = screen.getByTestId('e-preview').textContent!;
    expect(shown).toContain('{"id":"xxx');
    expect(shown.length).toBeLessThan(220);
    expect(shown.endsWith('…')).toBe(true);

    type(input, '{{ nope }}');
    await act(() => vi.advanceTimersByTimeAsync(300));
    await act(async () => pending['{{ nope }}']({ error: 'unknown variable "nope"' }));
    const error = within(screen.getByTestId('e-preview')).getByText('unknown variable "nope"');
    expect(error.className).toContain('error-text');

    // no {{ … }}: no preview
    type(input, 'plain');
    await act(() => vi.advanceTimersByTimeAsync(1000));
    expect(screen.queryByTestId('e-preview')).toBeNull();
    expect(preview).toHaveBeenCalledTimes(3);
  });

  it('shows a failing preview call as an error', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const preview = vi.fn(async () => {
      throw new Error('no sample');
    });
    setup('{{ trigger }}', { preview });
    await act(() => vi.advanceTimersByTimeAsync(300));
    expect(screen.getByTestId('e-preview').textContent).toBe('no sample');
  });
});
