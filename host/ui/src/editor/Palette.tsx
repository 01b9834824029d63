// The step palette: every installed connector's actions, every transform and the built-in steps,
// searchable, each with its description. Choosing one gives the new step's definition.

import { useEffect, useMemo, useRef, useState } from 'react';
import type { Connection, Plugin, StepDef } from '../types';

export interface PaletteItem {
  key: string;
  group: 'Actions' | 'Transforms' | 'Built-in';
  title: string;
  description: string;
  /** The new step, without its id. */
  make: () => Omit<StepDef, 'id'>;
  /** What the new step's id is made from. */
  idBase: string;
}

const BUILT_IN: PaletteItem[] = [
  { key: 'call', group: 'Built-in', title: 'call', description: 'Run another flow as a sub-flow and use its output; waits holding no worker.', idBase: 'sub', make: () => ({ call: '', input: {} }) },
  { key: 'respond', group: 'Built-in', title: 'respond', description: "Answer a sync webhook's caller now (status, headers, body); the run goes on.", idBase: 'answer', make: () => ({ respond: { status: 200, body: { ok: true } } }) },
  { key: 'if', group: 'Built-in', title: 'if', description: 'Run some steps when a condition holds, others when it does not.', idBase: 'check', make: () => ({ if: 'true', then: [] }) },
  { key: 'switch', group: 'Built-in', title: 'switch', description: 'Pick a branch by the value of an expression.', idBase: 'route', make: () => ({ switch: 'trigger.type', cases: { a: [] } }) },
  { key: 'for_each', group: 'Built-in', title: 'for_each', description: 'Run steps once per item of a list (item, index).', idBase: 'each', make: () => ({ for_each: 'trigger.items', steps: [] }) },
  { key: 'delay', group: 'Built-in', title: 'delay', description: 'Wait a while (30s, 10m, 2h 30m); the run holds no worker meanwhile.', idBase: 'wait', make: () => ({ delay: '5m' }) },
  { key: 'delay_until', group: 'Built-in', title: 'delay_until', description: 'Wait until an RFC 3339 time (an expression).', idBase: 'wait_until', make: () => ({ delay_until: '{{ trigger.when }}' }) },
];

/** The palette's items for the installed plugins and the connections there are. */
export function paletteItems(plugins: Plugin[], connections: Connection[]): PaletteItem[] {
  const items: PaletteItem[] = [];
  for (const plugin of plugins) {
    if (plugin.world === 'connector') {
      const connection = connections.find((c) => c.plugin === plugin.name)?.id;
      for (const action of plugin.manifest?.actions ?? []) {
        const ref = `${plugin.name}.${action.name}`;
        items.push({
          key: ref,
          group: 'Actions',
          title: ref,
          description: action.description || plugin.description || '',
          idBase: action.name,
          make: () => ({ action: ref, ...(connection ? { connection } : {}), input: {} }),
        });
      }
    } else {
      items.push({
        key: plugin.name,
        group: 'Transforms',
        title: plugin.name,
        description: plugin.description || `transform ${plugin.version}`,
        idBase: plugin.name,
        make: () => ({ transform: plugin.name, input: '{{ trigger }}' }),
      });
    }
  }
  return [...items, ...BUILT_IN];
}

export function Palette({ items, onPick, onClose, where }: { items: PaletteItem[]; onPick: (item: PaletteItem) => void; onClose: () => void; where: string }) {
  const [query, setQuery] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return q ? items.filter((i) => `${i.title} ${i.description}`.toLowerCase().includes(q)) : items;
  }, [items, query]);
  const groups = (['Actions', 'Transforms', 'Built-in'] as const).map((g) => [g, shown.filter((i) => i.group === g)] as const);
  return (
    <div className="modal-backdrop" onClick={onClose} role="presentation">
      <div className="modal card palette" role="dialog" aria-label="Add a step" onClick={(e) => e.stopPropagation()} data-testid="palette">
        <header className="card-head">
          <h2>Add a step {where}</h2>
          <button type="button" className="link-button" onClick={onClose} aria-label="Close">
            ×
          </button>
        </header>
        <div className="card-body">
          <input
            ref={input}
            type="search"
            placeholder="Search actions, transforms, built-in steps"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') onClose();
              if (e.key === 'Enter' && shown.length > 0) onPick(shown[0]);
            }}
            data-testid="palette-search"
            aria-label="Search"
          />
          {shown.length === 0 && <p className="muted">Nothing matches “{query}”.</p>}
          {groups.map(([group, list]) =>
            list.length === 0 ? null : (
              <section key={group}>
                <h3>{group}</h3>
                <ul className="plain-list palette-list">
                  {list.map((item) => (
                    <li key={item.key}>
                      <button type="button" className="palette-item" onClick={() => onPick(item)} data-testid={`palette-${item.key}`}>
                        <span className="mono">{item.title}</span>
                        {item.description && <span className="muted small">{item.description}</span>}
                      </button>
                    </li>
                  ))}
                </ul>
              </section>
            ),
          )}
        </div>
      </div>
    </div>
  );
}
