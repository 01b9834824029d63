import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import { Link } from 'wouter';
import { getPlugin, listPlugins, messageOf, removePlugin, uploadPlugin } from '../api';
import { ErrorBox, JsonValue, Loading, Section } from '../components';
import { useTitle } from '../hooks';
import type { Plugin, PluginList } from '../types';

/** The name a transform gets when none is typed: the file's stem (`clean-contact.wasm`). */
export function nameFromFile(fileName: string): string {
  return fileName.replace(/\.wasm$/i, '').toLowerCase();
}

function FlowLinks({ flows }: { flows: string[] }) {
  if (flows.length === 0) return <span className="muted">—</span>;
  return (
    <>
      {flows.map((f, i) => (
        <span key={f}>
          {i > 0 && ', '}
          <Link href={`/flows/${encodeURIComponent(f)}`}>{f}</Link>
        </span>
      ))}
    </>
  );
}

export function PluginsPage() {
  useTitle('Plugins');
  const [list, setList] = useState<PluginList | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [removing, setRemoving] = useState<Plugin | null>(null);
  const [removeError, setRemoveError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(() => {
    listPlugins().then(
      (l) => {
        setList({ ...l, plugins: [...l.plugins].sort((a, b) => a.name.localeCompare(b.name)) });
        setError(null);
      },
      (e: unknown) => setError(messageOf(e)),
    );
  }, []);
  useEffect(load, [load]);

  const remove = (plugin: Plugin) => {
    setRemoveError(null);
    removePlugin(plugin.name, plugin.used_by.length > 0).then(
      (out) => {
        setRemoving(null);
        const affected = out?.flows_affected ?? [];
        setNotice(`Removed ${plugin.name}${affected.length ? `; flows ${affected.join(', ')} start no runs until it is back` : ''}.`);
        if (open === plugin.name) setOpen(null);
        load();
      },
      (e: unknown) => setRemoveError(messageOf(e)),
    );
  };

  return (
    <div className="page">
      <header className="page-head">
        <h1>Plugins</h1>
      </header>
      <Upload
        onInstalled={(p) => {
          setNotice(null);
          load();
          setOpen(p.name);
        }}
      />
      {notice && (
        <div className="notice" data-testid="plugins-notice">
          {notice}
        </div>
      )}
      <ErrorBox error={error} testId="plugins-error" />
      {list === null && !error ? (
        <Loading />
      ) : (
        <table className="table" data-testid="plugins-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>Current version</th>
              <th>Other versions</th>
              <th>Used by</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(list?.plugins ?? []).map((p) => {
              const others = p.versions.filter((v) => !v.current);
              return (
                <tr key={p.name} data-testid={`plugin-row-${p.name}`} className={open === p.name ? 'selected' : undefined}>
                  <td>
                    <button type="button" className="link-button strong" onClick={() => setOpen(open === p.name ? null : p.name)} aria-expanded={open === p.name} data-testid={`plugin-open-${p.name}`}>
                      {p.name}
                    </button>
                    {p.description && <div className="muted small">{p.description}</div>}
                  </td>
                  <td>
                    <span className="tag">{p.world}</span>
                  </td>
                  <td className="mono small" title={p.hash}>
                    {p.version}
                  </td>
                  <td className="small">
                    {others.length === 0 ? (
                      <span className="muted">—</span>
                    ) : (
                      <ul className="plain-list">
                        {others.map((v) => (
                          <li key={v.hash}>
                            <span className="mono" title={v.hash}>
                              {v.version}
                            </span>{' '}
                            <span className="muted">{v.installed ? 'pinnable' : 'kept for runs'}</span>
                            {v.flows.length > 0 && (
                              <>
                                {' '}
                                · pinned by <FlowLinks flows={v.flows} />
                              </>
                            )}
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                  <td className="small">
                    <FlowLinks flows={p.used_by} />
                  </td>
                  <td className="actions">
                    <button type="button" className="button small danger-outline" onClick={() => { setRemoveError(null); setRemoving(p); }} data-testid={`plugin-remove-${p.name}`}>
                      Remove
                    </button>
                  </td>
                </tr>
              );
            })}
            {list && list.plugins.length === 0 && (
              <tr>
                <td colSpan={6} className="empty">
                  No plugins installed. Upload a .wasm component above, or put one in the server's plugins folder.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      {removing && (
        <div className="confirm card" role="alertdialog" aria-label={`Remove ${removing.name}`} data-testid="plugin-remove-dialog">
          <p>
            Remove plugin <strong>{removing.name}</strong>?
            {removing.used_by.length > 0 && (
              <>
                {' '}
                It is used by {removing.used_by.length === 1 ? 'flow' : 'flows'} <strong>{removing.used_by.join(', ')}</strong>: removing it anyway (force) stops them starting runs until it is installed again.
              </>
            )}
          </p>
          <ErrorBox error={removeError} testId="plugin-remove-error" />
          <div className="button-row">
            <button type="button" className="button danger" onClick={() => remove(removing)} data-testid="plugin-remove-confirm">
              {removing.used_by.length > 0 ? 'Remove anyway' : 'Remove'}
            </button>
            <button type="button" className="button" onClick={() => setRemoving(null)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {list && list.problems.length > 0 && (
        <Section title="Load problems" testId="plugin-problems">
          <ul className="plain-list">
            {list.problems.map((p) => (
              <li key={p.file}>
                <code>{p.file}</code>: <span className="error-text">{p.error}</span>
              </li>
            ))}
          </ul>
        </Section>
      )}
      {open && <PluginDetail key={open} name={open} />}
    </div>
  );
}

function Upload({ onInstalled }: { onInstalled: (p: Plugin) => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<Plugin | null>(null);
  const [busy, setBusy] = useState(false);
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const send = (file: File) => {
    setBusy(true);
    setError(null);
    setResult(null);
    const pluginName = name.trim() || nameFromFile(file.name);
    // The File is a Blob: fetch streams it as the body, no copy in memory.
    uploadPlugin(file, pluginName)
      .then(
        (p) => {
          setBusy(false);
          setResult(p);
          onInstalled(p);
        },
        (e: unknown) => {
          setBusy(false);
          setError(messageOf(e));
        },
      )
      .finally(() => {
        if (input.current) input.current.value = '';
      });
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const file = e.dataTransfer.files[0];
    if (!file) return;
    if (!/\.wasm$/i.test(file.name)) {
      setError(`${file.name} is not a .wasm file`);
      return;
    }
    send(file);
  };

  return (
    <div
      className={`drop-zone${over ? ' over' : ''}`}
      data-testid="plugin-upload"
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <div className="drop-row">
        <strong>Install a plugin</strong>
        <span className="muted">Drop a .wasm component here, or choose one:</span>
        <input
          ref={input}
          type="file"
          accept=".wasm,application/wasm"
          className="file-input"
          aria-label="Plugin file (.wasm)"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) send(file);
          }}
          disabled={busy}
          data-testid="plugin-file"
        />
        <label className="inline-field">
          <span>Transform name</span>
          <input type="text" value={name} onChange={(e) => setName(e.target.value)} placeholder="(file name)" data-testid="plugin-name" />
        </label>
        {busy && <span className="muted">Checking and compiling…</span>}
      </div>
      <p className="muted small">Connectors are named by their manifest; a transform takes the name typed here, or the file's name.</p>
      {error && (
        <div className="error-box" role="alert">
          <pre className="error-text" data-testid="plugin-upload-error">
            {error}
          </pre>
        </div>
      )}
      {result && (
        <div className="notice" data-testid="plugin-upload-result">
          Installed <strong>{result.name}</strong> ({result.world}) version <span className="mono">{result.version}</span>.
        </div>
      )}
    </div>
  );
}

function PluginDetail({ name }: { name: string }) {
  const [plugin, setPlugin] = useState<Plugin | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    getPlugin(name).then(setPlugin, (e: unknown) => setError(messageOf(e)));
  }, [name]);
  const m = plugin?.manifest;
  const settings = m?.settings;
  return (
    <Section title={`Plugin ${name}`} testId="plugin-detail">
      <ErrorBox error={error} />
      {!plugin && !error && <Loading />}
      {plugin && (
        <>
          <p>
            <span className="tag">{plugin.world}</span> <span className="mono small">{plugin.version}</span> <span className="mono muted small">{plugin.hash}</span>
          </p>
          {plugin.description && <p>{plugin.description}</p>}
          {!m && <p className="muted">A transform: it takes JSON in and gives JSON out; it has no manifest.</p>}
          {m && (
            <>
              <h3>Actions</h3>
              {(m.actions ?? []).length === 0 && <p className="muted">None.</p>}
              {(m.actions ?? []).map((a) => (
                <details key={a.name} className="spec">
                  <summary>
                    <strong className="mono">{a.name}</strong> <span className="muted">{a.description}</span>
                  </summary>
                  <div className="spec-grid">
                    <div>
                      <h4>Input schema</h4>
                      <JsonValue value={a.input_schema} />
                    </div>
                    <div>
                      <h4>Output schema</h4>
                      <JsonValue value={a.output_schema} />
                    </div>
                  </div>
                </details>
              ))}
              <h3>Triggers</h3>
              {(m.triggers ?? []).length === 0 && <p className="muted">None.</p>}
              {(m.triggers ?? []).map((t) => (
                <details key={t.name} className="spec">
                  <summary>
                    <strong className="mono">{t.name}</strong> <span className="tag">{t.kind}</span>
                    {t.polling && <span className="tag">{t.polling}</span>} <span className="muted">{t.description}</span>
                  </summary>
                  {t.events && t.events.length > 0 && <p className="small">Events: {t.events.join(', ')}</p>}
                  <div className="spec-grid">
                    <div>
                      <h4>Config schema</h4>
                      <JsonValue value={t.config_schema} />
                    </div>
                    <div>
                      <h4>Output schema</h4>
                      <JsonValue value={t.output_schema} />
                    </div>
                  </div>
                </details>
              ))}
              <h3>Settings</h3>
              {Array.isArray(settings) ? (
                settings.length === 0 ? (
                  <p className="muted">None.</p>
                ) : (
                  <table className="table compact">
                    <thead>
                      <tr>
                        <th>Name</th>
                        <th>Secret</th>
                        <th>Required</th>
                        <th>Description</th>
                      </tr>
                    </thead>
                    <tbody>
                      {settings.map((s) => (
                        <tr key={s.name}>
                          <td className="mono">{s.name}</td>
                          <td>{s.secret ? 'secret' : ''}</td>
                          <td>{s.required ? 'required' : ''}</td>
                          <td>{s.description}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )
              ) : (
                <JsonValue value={settings} />
              )}
              {m.secrets && m.secrets.length > 0 && (
                <>
                  <h3>Secrets</h3>
                  <p className="mono small">{m.secrets.map((s) => (typeof s === 'string' ? s : s.name)).join(', ')}</p>
                </>
              )}
              <h3>Hosts it wants to reach</h3>
              <p className="mono small">{(m.hosts ?? []).length ? m.hosts!.join(', ') : '—'}</p>
              <details className="spec">
                <summary>Full manifest</summary>
                <JsonValue value={m} collapsed={1} />
              </details>
            </>
          )}
        </>
      )}
    </Section>
  );
}
