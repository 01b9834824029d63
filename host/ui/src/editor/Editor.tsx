// The flow editor: build and change a flow in the browser. The diagram (React Flow, as on the flow
// page) with a palette to add steps, a panel per step with a form from the action's input schema,
// the data panel to map earlier outputs into fields, weft's own validation while editing, test
// runs with pinned outputs, and a YAML tab editing the same flow as text.

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useLocation } from 'wouter';
import { parse as fromYaml } from 'yaml';
import { ApiError, activateFlow, deactivateFlow, getFlow, getPlugin, getRun, listConnections, listPlugins, listRuns, messageOf, previewTemplate, saveFlow, testFlow, validateFlow } from '../api';
import { ErrorBox, Loading } from '../components';
import { useTitle } from '../hooks';
import FlowDiagram, { TRIGGER_SELECTION, type NodeMark } from '../pages/FlowDiagram';
import { isFinal, type Connection, type FlowDef, type Json, type Plugin, type RunWithSteps, type StepDef, type TriggerStatus } from '../types';
import { DataPanel } from './DataPanel';
import { findStep, freshId, insertStep, walk, pathsAt, placeProblems, sampleFromRun, sampleScope, scopeAt, stepAt, type ListPath, type PlacedProblem, type Sample } from './model';
import { Palette, paletteItems, type PaletteItem } from './Palette';
import type { InsertTarget, Preview, Problem } from './shared';
import { StepPanel, TriggerPanel, FlowPanel } from './panels';
import { YamlEditor } from './YamlEditor';
import { flowToYaml } from './yamlText';
import flowSchema from '../../../../schema/flow.schema.json';
import './editor.css';

const NEW_FLOW: FlowDef = { name: '', trigger: 'manual', steps: [] };

/** What the editor knows of the installed plugins and connections. */
export interface EditorCatalog {
  plugins: Plugin[];
  connections: Connection[];
}

async function loadCatalog(): Promise<EditorCatalog> {
  const [list, connections] = await Promise.all([listPlugins(), listConnections()]);
  // The list has names only; connectors' manifests (actions, triggers, schemas) come one by one.
  const plugins = await Promise.all(list.plugins.map((p) => (p.world === 'connector' ? getPlugin(p.name).catch(() => p) : Promise.resolve(p))));
  return { plugins, connections };
}

/** Poll a test run until it ends (or waits on a retry). */
async function finished(id: string): Promise<RunWithSteps> {
  for (;;) {
    const out = await getRun(id);
    if (isFinal(out.run.status) || out.run.status === 'waiting') return out;
    await new Promise((r) => setTimeout(r, 300));
  }
}

export default function EditorPage({ name }: { name: string | null }) {
  useTitle(name ? `Edit ${name}` : 'New flow');
  const [, navigate] = useLocation();
  const [def, setDef] = useState<FlowDef | null>(name ? null : NEW_FLOW);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [catalog, setCatalog] = useState<EditorCatalog | null>(null);
  const [trigger, setTrigger] = useState<TriggerStatus | null>(null);
  const [tab, setTab] = useState<'visual' | 'yaml'>('visual');
  const [yamlText, setYamlText] = useState('');
  const [yamlError, setYamlError] = useState<string | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [checking, setChecking] = useState(false);
  const [selected, setSelectedId] = useState<string | null>(null);
  // The side panel starts afresh when another step is chosen, not when the chosen one is renamed.
  const [panelKey, setPanelKey] = useState(0);
  const setSelected = useCallback((id: string | null) => {
    setSelectedId(id);
    setPanelKey((k) => k + 1);
  }, []);
  const [sample, setSample] = useState<Sample | null>(null);
  const [pinned, setPinned] = useState<Record<string, Json>>({});
  const [test, setTest] = useState<RunWithSteps | null>(null);
  const [testing, setTesting] = useState<string | null>(null);
  const [testError, setTestError] = useState<string | null>(null);
  const [palette, setPalette] = useState<{ list: ListPath; index: number; where: string } | null>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<string | null>(null);
  const [dirty, setDirty] = useState(false);
  const target = useRef<InsertTarget | null>(null);

  // Another flow opened in the same editor: what belonged to the last one goes.
  const shownName = useRef(name);
  useEffect(() => {
    if (shownName.current !== null && shownName.current !== name) {
      setPinned({});
      setTest(null);
      setSample(null);
      setSelectedId(null);
      setSaved(null);
      setDirty(false);
      setTab('visual');
      if (name === null) setDef(NEW_FLOW);
    }
    shownName.current = name;
  }, [name]);

  // Closing or reloading the tab with unsaved changes asks first.
  useEffect(() => {
    if (!dirty) return;
    const ask = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', ask);
    return () => window.removeEventListener('beforeunload', ask);
  }, [dirty]);

  // ---- loading ---------------------------------------------------------------------------------

  const loadSample = useCallback(
    (source: string) => {
      if (!name) return;
      const test = source === 'test';
      listRuns({ flow: name, limit: 1, test })
        .then((runs) => (runs.length === 0 ? null : getRun(runs[0].id)))
        .then(
          (run) => run && setSample(sampleFromRun(run, `${test ? 'test run' : 'run'} ${run.run.id}`)),
          () => undefined,
        );
    },
    [name],
  );

  useEffect(() => {
    loadCatalog().then(setCatalog, (e: unknown) => setLoadError(`plugins and connections: ${messageOf(e)}`));
    if (!name) return;
    getFlow(name).then(
      (detail) => {
        setDef(detail.flow.def);
        setTrigger(detail.trigger);
      },
      (e: unknown) => setLoadError(messageOf(e)),
    );
    loadSample('run');
  }, [name, loadSample]);

  // ---- editing ---------------------------------------------------------------------------------

  const change = useCallback((next: FlowDef) => {
    setDef(next);
    setDirty(true);
    setSaved(null);
  }, []);

  const onYaml = (text: string) => {
    setYamlText(text);
    setDirty(true);
    setSaved(null);
    try {
      const parsed = fromYaml(text) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        setDef(parsed as FlowDef);
        setYamlError(null);
      } else {
        setYamlError('a flow is a mapping (name, trigger, steps)');
      }
    } catch (e) {
      setYamlError(messageOf(e));
    }
  };

  const switchTab = (to: 'visual' | 'yaml') => {
    if (to === tab || !def) return;
    if (to === 'yaml') {
      setYamlText(flowToYaml(def));
      setYamlError(null);
    } else if (yamlError) {
      return; // the text must parse before the diagram can show it
    }
    setTab(to);
  };

  // weft's own validation, a moment after each change.
  const source: FlowDef | string | null = tab === 'yaml' ? yamlText : def;
  useEffect(() => {
    if (source === null) return;
    let live = true;
    setChecking(true);
    const timer = setTimeout(() => {
      validateFlow(source).then(
        (out) => {
          if (!live) return;
          setProblems(out.problems);
          setChecking(false);
        },
        (e: unknown) => {
          if (!live) return;
          setProblems([{ path: '', message: messageOf(e) }]);
          setChecking(false);
        },
      );
    }, 350);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [source]);

  const placed: PlacedProblem[] = useMemo(() => (def ? placeProblems(def, problems) : []), [def, problems]);

  const marks = useMemo(() => {
    const out: Record<string, NodeMark> = {};
    const mark = (id: string) => (out[id] ??= {});
    for (const p of placed) if (p.target) mark(p.target === 'trigger' ? TRIGGER_SELECTION : p.target).problems = (mark(p.target === 'trigger' ? TRIGGER_SELECTION : p.target).problems ?? 0) + 1;
    for (const id of Object.keys(pinned)) mark(id).pinned = true;
    for (const step of test?.steps ?? []) mark(step.step_id).status = step.pinned ? 'pinned' : step.status;
    return out;
  }, [placed, pinned, test]);

  const items = useMemo(() => (catalog ? paletteItems(catalog.plugins, catalog.connections) : []), [catalog]);

  const add = (item: PaletteItem) => {
    if (!def || !palette) return;
    const id = freshId(def, item.idBase);
    const step = { id, ...item.make() } as StepDef;
    change(insertStep(def, palette.list, palette.index, step));
    setPalette(null);
    setSelected(id);
  };

  const pick = (path: string) => {
    target.current?.(`{{ ${path} }}`);
  };

  const selectedLoc = def && selected && selected !== TRIGGER_SELECTION ? findStep(def, selected) : null;
  const scope = useMemo(() => (def ? scopeAt(def, selectedLoc ? selected : null) : { steps: [], inLoop: false }), [def, selected, selectedLoc]);
  const paths = useMemo(() => (def ? pathsAt(def, selectedLoc ? selected : null, sample) : []), [def, selected, selectedLoc, sample]);

  const preview = useCallback(
    (text: string): Promise<Preview> =>
      previewTemplate({ template: text, trigger: sample?.trigger ?? null, steps: sampleScope(sample, scope), ...(scope.inLoop ? { item: null, index: 0 } : {}) }).then(
        (out) => (out.error !== undefined ? { error: out.error } : { value: out.value ?? null }),
        (e: unknown) => ({ error: messageOf(e) }),
      ),
    [sample, scope],
  );

  // ---- testing and saving ----------------------------------------------------------------------

  const runTest = (until?: string) => {
    if (!def) return;
    setTesting(until ?? 'flow');
    setTestError(null);
    // Testing one step: the steps before it give their sample output rather than run again.
    const given: Record<string, Json> = {};
    if (until && sample) {
      for (const id of scopeAt(def, until).steps) {
        const step = findStep(def, id);
        const s = step && stepAt(def, step);
        if (s && (s.action !== undefined || s.transform !== undefined) && id in sample.outputs) given[id] = sample.outputs[id];
      }
    }
    testFlow({ flow: tab === 'yaml' ? yamlText : def, trigger: sample?.trigger ?? {}, pinned: { ...given, ...pinned }, until })
      .then((out) => finished(out.run.id))
      .then(
        (out) => {
          setTesting(null);
          setTest(out);
          // The test's outputs become the sample the data panel shows.
          setSample((prev) => {
            const fresh = sampleFromRun(out, `test run ${out.run.id}`);
            return { ...fresh, outputs: { ...(prev?.outputs ?? {}), ...fresh.outputs } };
          });
        },
        (e: unknown) => {
          setTesting(null);
          if (e instanceof ApiError && e.problems) setProblems(e.problems);
          setTestError(messageOf(e));
        },
      );
  };

  const save = () => {
    if (!def) return;
    setSaving(true);
    setSaveError(null);
    saveFlow(tab === 'yaml' ? yamlText : def, name).then(
      (out) => {
        setSaving(false);
        setDirty(false);
        setSaved(out.changed ? `Saved as version ${out.version}.` : `No changes: still version ${out.version}.`);
        if (out.warning) setSaveError(`saved, but: ${out.warning}`);
        if (!name) navigate(`/flows/${encodeURIComponent(out.name)}/edit`);
        else getFlow(name).then((d) => setTrigger(d.trigger), () => undefined);
      },
      (e: unknown) => {
        setSaving(false);
        if (e instanceof ApiError && e.problems) setProblems(e.problems);
        setSaveError(messageOf(e));
      },
    );
  };

  const toggle = (on: boolean) => {
    if (!name) return;
    setSaveError(null);
    (on ? activateFlow(name) : deactivateFlow(name)).then(
      () => getFlow(name).then((d) => setTrigger(d.trigger)),
      (e: unknown) => setSaveError(messageOf(e)),
    );
  };

  if (loadError && !def) {
    return (
      <div className="page">
        <div className="crumbs">
          <Link href="/flows">Flows</Link> /
        </div>
        <ErrorBox error={loadError} testId="editor-load-error" />
      </div>
    );
  }
  if (!def) return <Loading />;

  const flowProblems = placed.filter((p) => p.target === null);
  const structure = (() => {
    const ids: string[] = [];
    walk(def, (step, at) => ids.push(`${at.list.join('.')}:${step.id}`));
    return ids.join('|');
  })();
  const selectedStep = selectedLoc ? stepAt(def, selectedLoc) : undefined;
  const manual = def.trigger === 'manual';
  const problemCount = problems.length;

  return (
    <div className="page editor-page" data-testid="editor">
      <header className="page-head">
        <div>
          <div className="crumbs">
            <Link href="/flows">Flows</Link> /{' '}
            {name && (
              <>
                <Link href={`/flows/${encodeURIComponent(name)}`}>{name}</Link> /
              </>
            )}
          </div>
          <h1>{name ? `Edit ${name}` : 'New flow'}</h1>
        </div>
        <div className="head-actions">
          <span className={`validity ${problemCount ? 'invalid' : 'valid'}`} data-testid="validity" aria-live="polite">
            {checking ? 'checking…' : problemCount ? `${problemCount} problem${problemCount === 1 ? '' : 's'}` : 'valid'}
          </span>
          <button type="button" className="button" onClick={() => runTest()} disabled={testing !== null} data-testid="test-flow">
            {testing === 'flow' ? 'Testing…' : 'Test flow'}
          </button>
          <button type="button" className="button primary" onClick={save} disabled={saving} data-testid="save-flow" title={dirty ? 'Save as a new version' : 'Nothing changed since it was opened or saved'}>
            {saving ? 'Saving…' : 'Save'}
          </button>
          {name && !manual && trigger && (
            <label className="switch with-label">
              <input type="checkbox" role="switch" checked={trigger.active} onChange={(e) => toggle(e.target.checked)} data-testid="editor-active" />
              <span>{trigger.active ? 'Active' : 'Inactive'}</span>
            </label>
          )}
        </div>
      </header>
      {saved && (
        <p className="ok-text" data-testid="saved" role="status">
          {saved}
        </p>
      )}
      <ErrorBox error={saveError} testId="save-error" onDismiss={() => setSaveError(null)} />
      <ErrorBox error={testError} testId="test-error" onDismiss={() => setTestError(null)} />
      {loadError && <ErrorBox error={loadError} />}

      <div className="tabs" role="tablist">
        <button type="button" role="tab" aria-selected={tab === 'visual'} className={`tab${tab === 'visual' ? ' active' : ''}`} onClick={() => switchTab('visual')} data-testid="tab-visual">
          Visual
        </button>
        <button type="button" role="tab" aria-selected={tab === 'yaml'} className={`tab${tab === 'yaml' ? ' active' : ''}`} onClick={() => switchTab('yaml')} data-testid="tab-yaml">
          YAML
        </button>
        {yamlError && tab === 'yaml' && <span className="error-text small">The YAML does not parse yet: {yamlError}</span>}
      </div>

      {tab === 'yaml' ? (
        <YamlEditor value={yamlText} onChange={onYaml} problems={problems} schema={flowSchema as never} expressionPaths={(id) => pathsAt(def, id, sample)} testId="yaml-editor" />
      ) : (
        <div className="editor-grid">
          <div className="editor-main">
            {/* Drawn afresh (and fitted to the view) when steps come, go or move. */}
            <FlowDiagram key={structure} def={def} selected={selected} onSelect={setSelected} marks={marks} triggerSelectable />
            <div className="button-row">
              <button type="button" className="button" onClick={() => setPalette({ list: ['steps'], index: def.steps.length, where: 'at the end' })} data-testid="add-step" disabled={!catalog}>
                + Add step
              </button>
              <button type="button" className="button" onClick={() => setSelected(null)} data-testid="flow-settings">
                Flow settings
              </button>
            </div>
            {flowProblems.length > 0 && (
              <ul className="problem-list" data-testid="flow-problems">
                {flowProblems.map((p, i) => (
                  <li key={i} className="error-text small">
                    {p.path ? <span className="mono">{p.path}: </span> : null}
                    {p.message}
                  </li>
                ))}
              </ul>
            )}
          </div>
          <div className="editor-side">
            {selected === TRIGGER_SELECTION ? (
              <TriggerPanel def={def} onChange={change} catalog={catalog} problems={placed.filter((p) => p.target === 'trigger')} onClose={() => setSelected(null)} />
            ) : selectedStep && selectedLoc ? (
              <StepPanel
                key={panelKey}
                def={def}
                at={selectedLoc}
                step={selectedStep}
                onChange={change}
                onSelect={setSelected}
                onRename={setSelectedId}
                catalog={catalog}
                problems={placed.filter((p) => p.target === selected)}
                paths={paths}
                onFocusTarget={(insert) => (target.current = insert)}
                preview={preview}
                onAdd={(list, index, where) => setPalette({ list, index, where })}
                pinned={selected! in pinned ? pinned[selected!] : undefined}
                onPin={(value) =>
                  setPinned((prev) => {
                    const next = { ...prev };
                    if (value === undefined) delete next[selected!];
                    else next[selected!] = value;
                    return next;
                  })
                }
                sampleOutput={sample?.outputs[selected!]}
                test={test}
                testing={testing === selected}
                onTest={() => runTest(selected!)}
                onClose={() => setSelected(null)}
              />
            ) : (
              <FlowPanel def={def} isNew={name === null} onChange={change} problems={flowProblems} />
            )}
            <DataPanel
              sample={sample}
              scope={scope}
              onPick={pick}
              sources={name ? [{ key: 'run', label: 'Latest run' }, { key: 'test', label: 'Latest test run' }] : []}
              onSource={loadSample}
              onPaste={(event) => setSample({ trigger: event, outputs: {}, source: 'pasted event' })}
            />
          </div>
        </div>
      )}
      {palette && <Palette items={items} where={palette.where} onPick={add} onClose={() => setPalette(null)} />}
    </div>
  );
}
