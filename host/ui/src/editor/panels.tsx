// The editor's side panels: the flow's settings, the trigger, and the selected step (its kind's
// fields, the input form from the action's schema, where it sits, pinning and testing it).

import { useState, type ReactNode } from 'react';
import { ErrorKindBadge, JsonValue, StatusPill } from '../components';
import type { FlowDef, Json, RunWithSteps, StepDef, TriggerDef, ConnectorTriggerDef } from '../types';
import type { EditorCatalog } from './Editor';
import { ExprInput } from './ExprInput';
import { bare, childLists, inputField, kindOf, moveStep, removeStep, replaceStep, type ListPath, type Loc, type PlacedProblem } from './model';
import { SchemaForm } from './SchemaForm';
import type { InsertTarget, JsonSchema, Preview } from './shared';

/** A copy of `obj` without the keys whose value is undefined (they must not reach the flow). */
function clean<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

function ProblemText({ problems, field, testId }: { problems: PlacedProblem[]; field: string; testId?: string }) {
  const mine = problems.filter((p) => p.field === field);
  if (mine.length === 0) return null;
  return (
    <span className="error-text small field-problem" data-testid={testId}>
      {mine.map((p) => p.message).join('; ')}
    </span>
  );
}

function Row({ label, children, hint }: { label: string; children: ReactNode; hint?: string }) {
  return (
    <label className="field">
      <span>{label}</span>
      {children}
      {hint && <span className="muted small">{hint}</span>}
    </label>
  );
}

// ---- the flow ------------------------------------------------------------------------------------

export function FlowPanel({ def, isNew, onChange, problems }: { def: FlowDef; isNew: boolean; onChange: (d: FlowDef) => void; problems: PlacedProblem[] }) {
  return (
    <aside className="card step-panel" data-testid="flow-panel" aria-label="Flow settings">
      <header className="card-head">
        <h2>Flow</h2>
      </header>
      <div className="card-body">
        <Row label="Name" hint={isNew ? 'a-z, 0-9, - and _; it cannot change once saved' : undefined}>
          <input value={def.name} readOnly={!isNew} onChange={(e) => onChange({ ...def, name: e.target.value })} data-testid="flow-name" className={problems.some((p) => p.field === 'name') ? 'invalid' : ''} />
        </Row>
        <ProblemText problems={problems} field="name" testId="problem-name" />
        <Row label="Description">
          <textarea rows={2} value={def.description ?? ''} onChange={(e) => onChange(clean({ ...def, description: e.target.value || undefined }))} data-testid="flow-description" />
        </Row>
        <Row label="Concurrency" hint="runs of this flow at once (empty: no limit of its own)">
          <input
            type="number"
            min={1}
            value={def.concurrency ?? ''}
            onChange={(e) => onChange(clean({ ...def, concurrency: e.target.value === '' ? undefined : Number(e.target.value) }))}
            data-testid="flow-concurrency"
          />
        </Row>
        <Row label="Runs per second" hint="how often runs may begin; the rest wait, queued (empty: no limit)">
          <input
            type="number"
            min={1}
            value={def.rate_limit?.per_second ?? ''}
            onChange={(e) =>
              onChange(clean({ ...def, rate_limit: e.target.value === '' ? undefined : { ...def.rate_limit, per_minute: undefined, per_second: Number(e.target.value) } }))
            }
            data-testid="flow-rate"
          />
        </Row>
        <ProblemText problems={problems} field="rate_limit" />
        <Row label="Error flow" hint="runs with a summary when a run of this flow fails for good (empty: the server's default)">
          <input value={def.on_failure ?? ''} onChange={(e) => onChange(clean({ ...def, on_failure: e.target.value || undefined }))} data-testid="flow-on-failure" />
        </Row>
        <ProblemText problems={problems} field="on_failure" />
        <Row label="Keep requests for replays" hint="each action's step record keeps its HTTP exchanges (secrets redacted), so the run can be replayed offline">
          <input
            type="checkbox"
            checked={def.record_io !== false}
            onChange={(e) => onChange(clean({ ...def, record_io: e.target.checked ? undefined : false }))}
            data-testid="flow-record-io"
          />
        </Row>
        <p className="muted small">Click the trigger or a step on the diagram to edit it.</p>
      </div>
    </aside>
  );
}

// ---- the trigger ---------------------------------------------------------------------------------

type TriggerKindName = 'manual' | 'webhook' | 'polling' | 'schedule';

function triggerKind(t: TriggerDef): TriggerKindName {
  if (t === 'manual') return 'manual';
  return Object.keys(t)[0] as TriggerKindName;
}

export function TriggerPanel({ def, onChange, catalog, problems, onClose }: { def: FlowDef; onChange: (d: FlowDef) => void; catalog: EditorCatalog | null; problems: PlacedProblem[]; onClose: () => void }) {
  const kind = triggerKind(def.trigger);
  const set = (trigger: TriggerDef) => onChange({ ...def, trigger });
  const connectorKind = kind === 'webhook' || kind === 'polling' ? kind : null;
  const conn: ConnectorTriggerDef | null = connectorKind ? (def.trigger as Record<string, ConnectorTriggerDef>)[connectorKind] : null;
  const connectors = (catalog?.plugins ?? []).filter((p) => p.world === 'connector' && (p.manifest?.triggers ?? []).some((t) => (connectorKind === 'polling' ? !!t.polling : !t.polling)));
  const plugin = conn ? catalog?.plugins.find((p) => p.name === conn.connector.split('@')[0]) : undefined;
  const specs = (plugin?.manifest?.triggers ?? []).filter((t) => (connectorKind === 'polling' ? !!t.polling : !t.polling));
  const spec = specs.find((t) => t.name === conn?.trigger);
  const connections = (catalog?.connections ?? []).filter((c) => conn && c.plugin === conn.connector.split('@')[0]);
  const setConn = (patch: Partial<ConnectorTriggerDef>) => connectorKind && conn && set({ [connectorKind]: clean({ ...conn, ...patch }) } as TriggerDef);
  const configProblems: Record<string, string> = {};
  for (const p of problems) {
    if (p.field === 'config') configProblems[''] = p.message;
    else if (p.field.startsWith('config.')) configProblems[p.field.slice('config.'.length)] = p.message;
  }

  const changeKind = (to: TriggerKindName) => {
    if (to === kind) return;
    if (to === 'manual') set('manual');
    else if (to === 'schedule') set({ schedule: { cron: '*/5 * * * *' } });
    else {
      const first = (catalog?.plugins ?? []).find((p) => p.world === 'connector' && (p.manifest?.triggers ?? []).some((t) => (to === 'polling' ? !!t.polling : !t.polling)));
      const t = first?.manifest?.triggers?.find((t) => (to === 'polling' ? !!t.polling : !t.polling));
      const c = (catalog?.connections ?? []).find((c) => c.plugin === first?.name);
      set({ [to]: { connector: first?.name ?? '', trigger: t?.name ?? '', connection: c?.id ?? '', config: {} } } as TriggerDef);
    }
  };

  return (
    <aside className="card step-panel" data-testid="trigger-panel" aria-label="Trigger">
      <header className="card-head">
        <h2>Trigger</h2>
        <button type="button" className="link-button" onClick={onClose} aria-label="Close">
          ×
        </button>
      </header>
      <div className="card-body">
        <Row label="Starts by">
          <select value={kind} onChange={(e) => changeKind(e.target.value as TriggerKindName)} data-testid="trigger-kind">
            <option value="manual">manual — by hand or through the API</option>
            <option value="webhook">webhook — the application calls the flow's URL</option>
            <option value="polling">polling — weft asks the application at an interval</option>
            <option value="schedule">schedule — a cron schedule</option>
          </select>
        </Row>
        <ProblemText problems={problems} field="" />
        {conn && connectorKind && (
          <>
            <Row label="Connector">
              <select value={conn.connector} onChange={(e) => setConn({ connector: e.target.value, trigger: '', connection: '', config: {} })} data-testid="trigger-connector">
                {!connectors.some((c) => c.name === conn.connector) && <option value={conn.connector}>{conn.connector || '—'}</option>}
                {connectors.map((c) => (
                  <option key={c.name} value={c.name}>
                    {c.name}
                  </option>
                ))}
              </select>
            </Row>
            <ProblemText problems={problems} field="connector" />
            <Row label="Trigger" hint={spec?.description}>
              <select value={conn.trigger} onChange={(e) => setConn({ trigger: e.target.value })} data-testid="trigger-name">
                {!spec && <option value={conn.trigger}>{conn.trigger || '—'}</option>}
                {specs.map((t) => (
                  <option key={t.name} value={t.name}>
                    {t.name}
                  </option>
                ))}
              </select>
            </Row>
            <ProblemText problems={problems} field="trigger" />
            <Row label="Connection">
              <select value={conn.connection} onChange={(e) => setConn({ connection: e.target.value })} data-testid="trigger-connection">
                {!connections.some((c) => c.id === conn.connection) && <option value={conn.connection}>{conn.connection || '—'}</option>}
                {connections.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.id}
                  </option>
                ))}
              </select>
            </Row>
            <ProblemText problems={problems} field="connection" />
            {connectorKind === 'polling' && (
              <>
                <Row label="Interval" hint="e.g. 30s, 5m (default 5m)">
                  <input
                    value={conn.interval ?? ''}
                    onChange={(e) => setConn({ interval: e.target.value || undefined })}
                    data-testid="trigger-interval"
                    className={problems.some((p) => p.field === 'interval') ? 'invalid' : ''}
                  />
                </Row>
                <ProblemText problems={problems} field="interval" testId="problem-interval" />
              </>
            )}
            {connectorKind === 'webhook' && (spec?.events ?? []).length > 0 && (
              <fieldset className="fieldset">
                <legend>Events (none checked: all)</legend>
                {spec!.events!.map((ev) => (
                  <label key={ev} className="field-check">
                    <input
                      type="checkbox"
                      checked={(conn.events ?? []).includes(ev)}
                      onChange={(e) => {
                        const events = e.target.checked ? [...(conn.events ?? []), ev] : (conn.events ?? []).filter((x) => x !== ev);
                        setConn({ events: events.length ? events : undefined });
                      }}
                    />
                    <span>{ev}</span>
                  </label>
                ))}
              </fieldset>
            )}
            {problems
              .filter((p) => !['', 'connector', 'trigger', 'connection', 'interval', 'cron'].includes(p.field) && p.field !== 'config' && !p.field.startsWith('config.'))
              .map((p, i) => (
                <p key={i} className="error-text small">
                  <span className="mono">{p.field}</span>: {p.message}
                </p>
              ))}
            <h3>Configuration</h3>
            <SchemaForm schema={spec?.config_schema as JsonSchema | undefined} value={conn.config ?? {}} onChange={(v) => setConn({ config: (v ?? {}) as Json })} paths={[]} problems={configProblems} testId="trigger-config" />
          </>
        )}
        {kind === 'schedule' && typeof def.trigger === 'object' && 'schedule' in def.trigger && (
          <>
            <Row label="Cron" hint="minute hour day-of-month month day-of-week, e.g. */5 * * * *">
              <input value={def.trigger.schedule.cron} onChange={(e) => set({ schedule: { ...(def.trigger as { schedule: { cron: string; timezone?: string } }).schedule, cron: e.target.value } })} data-testid="trigger-cron" />
            </Row>
            <ProblemText problems={problems} field="schedule.cron" testId="problem-cron" />
            <Row label="Time zone" hint="IANA name, e.g. Europe/Oslo (default UTC)">
              <input
                value={def.trigger.schedule.timezone ?? ''}
                onChange={(e) => set({ schedule: clean({ ...(def.trigger as { schedule: { cron: string; timezone?: string } }).schedule, timezone: e.target.value || undefined }) })}
                data-testid="trigger-timezone"
              />
            </Row>
            <ProblemText problems={problems} field="schedule.timezone" />
          </>
        )}
      </div>
    </aside>
  );
}

// ---- a step --------------------------------------------------------------------------------------

const DESCRIPTIONS: Record<string, string> = {
  if: 'Runs `then` when the condition is true, else `else`.',
  switch: 'Picks the case whose name equals the value (as text), else `default`.',
  for_each: 'Runs its body once per item of the list; the body reads `item` and `index`.',
  delay: 'Waits this long; the run holds no worker meanwhile. A test does not wait.',
  delay_until: 'Waits until this RFC 3339 time. A test does not wait.',
  call: "Runs this flow with the input as its event, waits for it (holding no worker) and gives its output; its failure fails this step.",
  respond: "Answers the webhook's caller at once (flows with a sync webhook trigger); the run goes on.",
};

export function StepPanel(props: {
  def: FlowDef;
  at: Loc;
  step: StepDef;
  onChange: (d: FlowDef) => void;
  onSelect: (id: string | null) => void;
  /** The step's id changed: the selection follows it. */
  onRename: (id: string) => void;
  catalog: EditorCatalog | null;
  problems: PlacedProblem[];
  paths: string[];
  onFocusTarget: (insert: InsertTarget | null) => void;
  preview: (text: string) => Promise<Preview>;
  onAdd: (list: ListPath, index: number, where: string) => void;
  pinned: Json | undefined;
  onPin: (value: Json | undefined) => void;
  sampleOutput: Json | undefined;
  test: RunWithSteps | null;
  testing: boolean;
  onTest: () => void;
  onClose: () => void;
}) {
  const { def, at, step, onChange, problems, paths, onFocusTarget, preview } = props;
  const kind = kindOf(step);
  const set = (patch: Partial<StepDef>) => onChange(replaceStep(def, at, clean({ ...step, ...patch })));
  const [idText, setIdText] = useState(step.id);
  const [pinText, setPinText] = useState(props.pinned === undefined ? '' : JSON.stringify(props.pinned, null, 2));
  const [pinError, setPinError] = useState<string | null>(null);
  const bareTarget = (insert: InsertTarget | null) => onFocusTarget(insert && ((text: string) => insert(bare(text))));

  const connector = step.action?.includes('.') ? step.action.slice(0, step.action.lastIndexOf('.')).split('@')[0] : '';
  const actionName = step.action?.slice(step.action.lastIndexOf('.') + 1);
  const plugin = props.catalog?.plugins.find((p) => p.name === connector);
  const spec = plugin?.manifest?.actions?.find((a) => a.name === actionName);
  const connections = (props.catalog?.connections ?? []).filter((c) => c.plugin === connector);
  const inputProblems: Record<string, string> = {};
  for (const p of problems) {
    const field = inputField(p.field);
    if (field !== null) inputProblems[field] = inputProblems[field] ? `${inputProblems[field]}; ${p.message}` : p.message;
  }
  const records = props.test?.steps.filter((s) => s.step_id === step.id) ?? [];
  const record = records[records.length - 1];
  const listLength = (() => {
    let list: unknown = def;
    for (const seg of at.list) list = (list as Record<string | number, unknown>)?.[seg];
    return Array.isArray(list) ? list.length : 0;
  })();

  const renameTo = (id: string) => {
    if (id === step.id) return;
    set({ id });
    props.onRename(id);
  };

  return (
    <aside className="card step-panel" data-testid="step-editor" aria-label={`Step ${step.id}`}>
      <header className="card-head">
        <h2 className="mono">{step.id || '(no id)'}</h2>
        <span className="tag">{kind ?? 'unknown'}</span>
        <button type="button" className="link-button" onClick={props.onClose} aria-label="Close">
          ×
        </button>
      </header>
      <div className="card-body">
        <div className="button-row small-buttons">
          <button type="button" className="button small" onClick={() => onChange(moveStep(def, at, -1))} disabled={at.index === 0} data-testid="step-up">
            ↑ Up
          </button>
          <button type="button" className="button small" onClick={() => onChange(moveStep(def, at, 1))} disabled={at.index >= listLength - 1} data-testid="step-down">
            ↓ Down
          </button>
          <button type="button" className="button small" onClick={() => props.onAdd(at.list, at.index + 1, `after ${step.id}`)} data-testid="step-add-after">
            + After
          </button>
          <button
            type="button"
            className="button small danger-outline"
            onClick={() => {
              onChange(removeStep(def, at));
              props.onSelect(null);
            }}
            data-testid="step-delete"
          >
            Delete
          </button>
        </div>
        <Row label="Id" hint="later steps read its output as steps.<id>.output">
          <input value={idText} onChange={(e) => setIdText(e.target.value)} onBlur={() => renameTo(idText)} onKeyDown={(e) => e.key === 'Enter' && renameTo(idText)} data-testid="step-id" />
        </Row>
        <ProblemText problems={problems} field="id" />
        <ProblemText problems={problems} field="" testId="problem-step" />

        {kind === 'action' && (
          <>
            <Row label="Action" hint={spec?.description}>
              <input value={step.action ?? ''} readOnly className="mono" data-testid="step-action" />
            </Row>
            <ProblemText problems={problems} field="action" />
            <Row label="Connection">
              <select value={step.connection ?? ''} onChange={(e) => set({ connection: e.target.value || undefined })} data-testid="step-connection">
                <option value="">—</option>
                {step.connection && !connections.some((c) => c.id === step.connection) && <option value={step.connection}>{step.connection}</option>}
                {connections.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.id}
                  </option>
                ))}
              </select>
            </Row>
            <ProblemText problems={problems} field="connection" testId="problem-connection" />
          </>
        )}
        {kind === 'transform' && (
          <>
            <Row label="Transform">
              <select value={step.transform} onChange={(e) => set({ transform: e.target.value })} data-testid="step-transform">
                {!(props.catalog?.plugins ?? []).some((p) => p.name === step.transform) && <option value={step.transform}>{step.transform}</option>}
                {(props.catalog?.plugins ?? [])
                  .filter((p) => p.world === 'transform')
                  .map((p) => (
                    <option key={p.name} value={p.name}>
                      {p.name}
                    </option>
                  ))}
              </select>
            </Row>
            <ProblemText problems={problems} field="transform" />
          </>
        )}
        {kind === 'call' && (
          <>
            <Row label="Flow" hint={DESCRIPTIONS.call}>
              <input value={step.call ?? ''} onChange={(e) => set({ call: e.target.value })} data-testid="step-call" />
            </Row>
            <ProblemText problems={problems} field="call" />
          </>
        )}
        {kind === 'respond' && (
          <>
            <Row label="Status" hint={DESCRIPTIONS.respond}>
              <ExprInput
                value={step.respond?.status === undefined ? '' : String(step.respond.status)}
                onChange={(v) => set({ respond: { ...step.respond, status: /^\d+$/.test(v) ? Number(v) : v || undefined } })}
                paths={paths}
                onFocusTarget={onFocusTarget}
                preview={preview}
                testId="step-respond-status"
                ariaLabel="Status"
              />
            </Row>
            <h3>Body</h3>
            <SchemaForm
              schema={undefined}
              value={step.respond?.body}
              onChange={(v) => set({ respond: { ...step.respond, body: v } })}
              paths={paths}
              problems={{}}
              onFocusTarget={onFocusTarget}
              preview={preview}
              testId="respond-body"
            />
            <ProblemText problems={problems} field="respond" />
          </>
        )}
        {(kind === 'action' || kind === 'transform' || kind === 'call') && (
          <>
            <h3>Input</h3>
            <SchemaForm
              schema={kind === 'action' ? (spec?.input_schema as JsonSchema | undefined) : undefined}
              value={step.input}
              onChange={(v) => set({ input: v })}
              paths={paths}
              problems={inputProblems}
              onFocusTarget={onFocusTarget}
              preview={preview}
              testId="input"
            />
            <details className="step-more">
              <summary>{kind === 'call' ? 'Errors' : 'Retries and errors'}</summary>
              {kind !== 'call' && (
                <>
              <Row label="Attempts" hint="in all, the first included (default 3)">
                <input
                  type="number"
                  min={1}
                  value={step.retry?.max_attempts ?? ''}
                  onChange={(e) => set({ retry: clean({ ...step.retry, max_attempts: e.target.value === '' ? undefined : Number(e.target.value) }) })}
                  data-testid="step-attempts"
                />
              </Row>
              <Row label="First back-off" hint="e.g. 1s (doubles each time)">
                <input value={step.retry?.initial_backoff ?? ''} onChange={(e) => set({ retry: clean({ ...step.retry, initial_backoff: e.target.value || undefined }) })} />
              </Row>
                </>
              )}
              <Row label="When it fails for good">
                <select
                  value={step.on_error === undefined ? 'fail' : typeof step.on_error === 'string' ? step.on_error : 'branch'}
                  onChange={(e) => set({ on_error: e.target.value === 'fail' ? undefined : e.target.value === 'continue' ? 'continue' : { branch: [] } })}
                  data-testid="step-on-error"
                >
                  <option value="fail">fail the run</option>
                  <option value="continue">continue (its output is the error)</option>
                  <option value="branch">run error steps, then continue</option>
                </select>
              </Row>
            </details>
          </>
        )}
        {kind === 'if' && (
          <Row label="Condition" hint={DESCRIPTIONS.if}>
            <ExprInput value={step.if ?? ''} onChange={(v) => set({ if: v })} paths={paths} onFocusTarget={bareTarget} testId="step-if" ariaLabel="Condition" invalid={problems.some((p) => p.field === 'if')} />
          </Row>
        )}
        {kind === 'switch' && (
          <>
            <Row label="Value" hint={DESCRIPTIONS.switch}>
              <ExprInput value={step.switch ?? ''} onChange={(v) => set({ switch: v })} paths={paths} onFocusTarget={bareTarget} testId="step-switch" ariaLabel="Value" />
            </Row>
            <CaseNames step={step} onChange={(cases) => set({ cases })} />
          </>
        )}
        {kind === 'for_each' && (
          <>
            <Row label="List" hint={DESCRIPTIONS.for_each}>
              <ExprInput value={step.for_each ?? ''} onChange={(v) => set({ for_each: v })} paths={paths} onFocusTarget={bareTarget} testId="step-for-each" ariaLabel="List" />
            </Row>
            <Row label="Items at once" hint="default 1: in order">
              <input type="number" min={1} value={step.concurrency ?? ''} onChange={(e) => set({ concurrency: e.target.value === '' ? undefined : Number(e.target.value) })} />
            </Row>
          </>
        )}
        {kind === 'delay' && (
          <Row label="Wait" hint={DESCRIPTIONS.delay}>
            <input value={step.delay ?? ''} onChange={(e) => set({ delay: e.target.value })} data-testid="step-delay" />
          </Row>
        )}
        {kind === 'delay_until' && (
          <Row label="Until" hint={DESCRIPTIONS.delay_until}>
            <ExprInput value={step.delay_until ?? ''} onChange={(v) => set({ delay_until: v })} paths={paths} onFocusTarget={onFocusTarget} preview={preview} testId="step-delay-until" ariaLabel="Until" />
          </Row>
        )}
        {['if', 'switch', 'for_each', 'delay', 'delay_until'].map((f) => (
          <ProblemText key={f} problems={problems} field={f} />
        ))}
        {problems
          .filter((p) => !['', 'id', 'action', 'connection', 'transform', 'call', 'respond', 'if', 'switch', 'for_each', 'delay', 'delay_until'].includes(p.field) && inputField(p.field) === null)
          .map((p, i) => (
            <p key={i} className="error-text small">
              <span className="mono">{p.field}</span>: {p.message}
            </p>
          ))}

        {childLists(step, at).length > 0 && (
          <>
            <h3>Holds</h3>
            <ul className="plain-list holds">
              {childLists(step, at).map((child) => (
                <li key={child.label}>
                  <span className="mono">{child.label}</span>: {child.steps.length ? child.steps.map((s) => s.id).join(', ') : <span className="muted">no steps</span>}{' '}
                  <button type="button" className="button small" onClick={() => props.onAdd(child.list, child.steps.length, `to ${step.id} ${child.label}`)} data-testid={`add-to-${child.label.replace(/ /g, '-')}`}>
                    + Add
                  </button>
                </li>
              ))}
            </ul>
          </>
        )}

        {(kind === 'action' || kind === 'transform') && (
          <div className="pin">
            <label className="field-check">
              <input
                type="checkbox"
                checked={props.pinned !== undefined}
                onChange={(e) => {
                  if (e.target.checked) {
                    const value = props.sampleOutput ?? {};
                    setPinText(JSON.stringify(value, null, 2));
                    props.onPin(value);
                  } else props.onPin(undefined);
                }}
                data-testid="step-pin"
              />
              <span>Pin its output: tests use this instead of calling it</span>
            </label>
            {props.pinned !== undefined && (
              <>
                <textarea
                  className="code-input"
                  rows={5}
                  value={pinText}
                  spellCheck={false}
                  onChange={(e) => {
                    setPinText(e.target.value);
                    try {
                      props.onPin(JSON.parse(e.target.value) as Json);
                      setPinError(null);
                    } catch (err) {
                      setPinError(`not JSON: ${err instanceof Error ? err.message : String(err)}`);
                    }
                  }}
                  data-testid="step-pin-value"
                  aria-label="Pinned output (JSON)"
                />
                {pinError && <p className="error-text small">{pinError}</p>}
              </>
            )}
          </div>
        )}
        <div className="button-row">
          <button type="button" className="button" onClick={props.onTest} disabled={props.testing} data-testid="test-step">
            {props.testing ? 'Testing…' : 'Test this step'}
          </button>
        </div>
        {record && (
          <div className="step-result" data-testid="step-result">
            <h3>
              Last test <StatusPill status={record.pinned ? 'pinned' : record.status} testId="step-result-status" />
            </h3>
            {record.error && (
              <div className="step-error-head">
                <ErrorKindBadge kind={record.error.kind} />
                <pre className="error-text">{record.error.message}</pre>
              </div>
            )}
            <h3>Input</h3>
            <JsonValue value={record.input} testId="step-result-input" />
            <h3>Output</h3>
            <JsonValue value={record.output} testId="step-result-output" />
          </div>
        )}
      </div>
    </aside>
  );
}

function CaseNames({ step, onChange }: { step: StepDef; onChange: (cases: Record<string, StepDef[]>) => void }) {
  const [name, setName] = useState('');
  const cases = step.cases ?? {};
  return (
    <div className="cases">
      <h3>Cases</h3>
      <ul className="plain-list">
        {Object.keys(cases).map((c) => (
          <li key={c}>
            <span className="mono">{c}</span>{' '}
            <button
              type="button"
              className="link-button"
              onClick={() => onChange(Object.fromEntries(Object.entries(cases).filter(([k]) => k !== c)))}
              aria-label={`Remove case ${c}`}
            >
              remove
            </button>
          </li>
        ))}
      </ul>
      <div className="button-row">
        <input value={name} onChange={(e) => setName(e.target.value)} placeholder="case value" aria-label="New case" />
        <button
          type="button"
          className="button small"
          disabled={!name || name in cases}
          onClick={() => {
            onChange({ ...cases, [name]: [] });
            setName('');
          }}
        >
          Add case
        </button>
      </div>
    </div>
  );
}
