import { Suspense, lazy, useCallback, useEffect, useState, type FormEvent } from 'react';
import { Link, Route, Switch, useRoute } from 'wouter';
import { messageOf, restoreSession, setUnauthorizedHandler, signIn, signOut } from './api';
import { ErrorBox, Loading } from './components';
import { closeEvents, setEventsSignedOutHandler } from './events';
import { useTitle } from './hooks';
import { RunsPage } from './pages/Runs';
import { RunPage } from './pages/Run';
import { FlowsPage } from './pages/Flows';
import { PluginsPage } from './pages/Plugins';
import { ConnectionsPage } from './pages/Connections';

// The diagram (React Flow, dagre) and the chart (chart.js) load only with their pages.
const FlowPage = lazy(() => import('./pages/Flow'));
const OverviewPage = lazy(() => import('./pages/Overview'));
// The editor (CodeMirror, the schema forms) only with its pages.
const EditorPage = lazy(() => import('./editor/Editor'));
const EDITOR_PATH = /^\/(?:new-flow|flows\/(?<name>[^/]+)\/edit)\/?$/;

type Auth = 'checking' | 'signed-out' | 'signed-in';

export default function App() {
  const [auth, setAuth] = useState<Auth>('checking');
  const [bootError, setBootError] = useState<string | null>(null);

  const signedOut = useCallback(() => {
    closeEvents();
    setAuth('signed-out');
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(signedOut);
    setEventsSignedOutHandler(signedOut);
    return () => {
      setUnauthorizedHandler(null);
      setEventsSignedOutHandler(null);
    };
  }, [signedOut]);

  const check = useCallback(() => {
    setBootError(null);
    setAuth('checking');
    restoreSession().then(
      (ok) => setAuth(ok ? 'signed-in' : 'signed-out'),
      (e: unknown) => setBootError(messageOf(e)),
    );
  }, []);

  useEffect(check, [check]);

  if (bootError) {
    return (
      <div className="center-page">
        <div className="sign-in card">
          <h1 className="brand-title">weft</h1>
          <ErrorBox error={bootError} />
          <button type="button" className="button" onClick={check}>
            Try again
          </button>
        </div>
      </div>
    );
  }
  if (auth === 'checking') return <Loading what="Connecting" />;
  if (auth === 'signed-out') return <SignIn onSignedIn={() => setAuth('signed-in')} />;
  return <Shell onSignedOut={signedOut} />;
}

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  useTitle('Sign in');
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    signIn(token).then(
      () => {
        setBusy(false);
        setToken('');
        onSignedIn();
      },
      (err: unknown) => {
        setBusy(false);
        setError(messageOf(err));
      },
    );
  };
  return (
    <div className="center-page">
      <form className="sign-in card" onSubmit={submit}>
        <h1 className="brand-title">weft</h1>
        <p className="muted">Sign in with the admin token (shown once when the server first started).</p>
        <label className="field">
          <span>Admin token</span>
          <input
            type="password"
            autoComplete="current-password"
            autoFocus
            value={token}
            onChange={(e) => setToken(e.target.value)}
            data-testid="token"
            placeholder="weft_…"
          />
        </label>
        {error && (
          <div className="error-box" role="alert">
            <span className="error-text" data-testid="sign-in-error">
              {error}
            </span>
          </div>
        )}
        <button type="submit" className="button primary" disabled={busy || token === ''} data-testid="sign-in">
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}

function NavLink({ href, children, exact = false }: { href: string; children: string; exact?: boolean }) {
  const [match] = useRoute(exact ? href : `${href}/*?`);
  return (
    <Link href={href} className={`nav-link${match ? ' active' : ''}`} aria-current={match ? 'page' : undefined}>
      {children}
    </Link>
  );
}

function Shell({ onSignedOut }: { onSignedOut: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const out = () => {
    signOut().then(onSignedOut, (e: unknown) => setError(`sign-out failed: ${messageOf(e)}`));
  };
  return (
    <div className="shell">
      <nav className="nav" aria-label="Main">
        <Link href="/" className="brand">
          weft
        </Link>
        <NavLink href="/" exact>
          Overview
        </NavLink>
        <NavLink href="/flows">Flows</NavLink>
        <NavLink href="/runs">Runs</NavLink>
        <NavLink href="/plugins">Plugins</NavLink>
        <NavLink href="/connections">Connections</NavLink>
        <div className="nav-spacer" />
        <button type="button" className="nav-link nav-button" onClick={out} data-testid="sign-out">
          Sign out
        </button>
      </nav>
      <main className="main">
        <ErrorBox error={error} onDismiss={() => setError(null)} />
        <Suspense fallback={<Loading />}>
          <Switch>
            <Route path="/" component={OverviewPage} />
            <Route path="/flows" component={FlowsPage} />
            {/* One route for both: a new flow's editor stays as it is when its first save names it. */}
            <Route path={EDITOR_PATH}>{(params: { name?: string }) => <EditorPage key="editor" name={params.name ? decodeURIComponent(params.name) : null} />}</Route>
            <Route path="/flows/:name">{(params) => <FlowPage key={params.name} name={params.name} />}</Route>
            <Route path="/runs" component={RunsPage} />
            <Route path="/runs/:id">{(params) => <RunPage key={params.id} id={params.id} />}</Route>
            <Route path="/plugins" component={PluginsPage} />
            <Route path="/connections" component={ConnectionsPage} />
            <Route>
              <NotFound />
            </Route>
          </Switch>
        </Suspense>
      </main>
    </div>
  );
}

function NotFound() {
  useTitle('Not found');
  return (
    <div className="page">
      <h1>Not found</h1>
      <p>
        Nothing here. <Link href="/">Go to the overview</Link>.
      </p>
    </div>
  );
}
