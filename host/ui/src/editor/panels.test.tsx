// @vitest-environment jsdom
// The flow panel's settings: the flow keeps only what was set, and turning
// recordings off and on again leaves the flow as it was.
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { FlowDef } from '../types';
import { FlowPanel } from './panels';

afterEach(() => cleanup());

const flow: FlowDef = { name: 'orders', trigger: 'manual', steps: [] };

describe('FlowPanel', () => {
  it('turns recordings for replays off and on', () => {
    const changes: FlowDef[] = [];
    const { rerender } = render(<FlowPanel def={flow} isNew={false} onChange={(d) => changes.push(d)} problems={[]} />);
    const box = screen.getByTestId('flow-record-io') as HTMLInputElement;
    expect(box.checked).toBe(true);
    fireEvent.click(box);
    expect(changes.at(-1)).toEqual({ ...flow, record_io: false });
    rerender(<FlowPanel def={changes.at(-1)!} isNew={false} onChange={(d) => changes.push(d)} problems={[]} />);
    const off = screen.getByTestId('flow-record-io') as HTMLInputElement;
    expect(off.checked).toBe(false);
    fireEvent.click(off);
    expect(changes.at(-1)).toEqual(flow);
    expect('record_io' in changes.at(-1)!).toBe(false);
  });
});
