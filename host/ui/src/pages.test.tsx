// @vitest-environment jsdom
// Page-level smoke tests: the whole app rendered in jsdom against a fake admin API (fetch and
// EventSource stubbed), checking the data-testids, the CSRF header, live updates, and that
// untrusted step data renders as text.
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import App from './App';

const now = Date.now();
const flowDef = {
  name: 'contact-sync',
  trigger: { webhook: { connector: 'github', trigger: 'issues', connection: 'gh' } },
  steps: [
    { id: 'clean', transform: 'clean-contact', input: '{{ trigger }}' },
    { id: 'create', action: 'http.request', connection: 'crm', input: { method: 'POST' }, on_error: { branch: [{ id: 'notify', transform: 'clean-contact' }] } },
    { id: 'check', if: 'steps.create.output.status == 201', then: [{ id: 'wait', delay: '10m' }], else: [] },
    { id: 'each', for_each: 'trigger.items', steps: [{ id: 'one', transform: 'clean-contact' }] },
    { id: 'route', switch: 'trigger.kind', cases: { a: [{ id: 'x', transform: 't' }] }, default: [{ id: 'y', transform: 't' }] },
  ],
};
const run = { id: 'run000000000000001', flow: 'contact-sync', version: 3, status: 'failed', trigger: { email: 'a@b.c', items: [1, 2] }, error: 'step create failed: boom\nmore', created_ms: now - 60000, updated_ms: now - 50000, plugins: { http: 'abcdef0123456789', 'clean-contact': 'fedcba' } };
const steps = [
  { path: 'clean', step_id: 'clean', status: 'succeeded', input: { email: 'a@b.c' }, output: { email: 'a@b.c' }, attempts: 1, started_ms: now - 60000, ended_ms: now - 59000, seq: 1 },
  { path: 'create', step_id: 'create', status: 'failed', input: { method: 'POST', body: '<script>alert(1)</script>' }, error: { message: 'boom <b>html</b>', retryable: true, retry_after_ms: 2000, kind: 'rate-limited' }, attempts: 3, retried: [{ attempt: 1, started_ms: now - 59000, ended_ms: now - 58800, error: { message: 'HTTP 503', retryable: true, kind: 'transient' }, wait_ms: 1000 }, { attempt: 2, started_ms: now - 57800, ended_ms: now - 57600, error: { message: 'HTTP 429 <i>slow</i>', retryable: true, retry_after_ms: 2000, kind: 'rate-limited' }, wait_ms: 2345 }], started_ms: now - 59000, ended_ms: now - 55000, logs: [{ level: 'warn', message: '<img src=x onerror=alert(1)>', at_ms: now - 56000 }], seq: 2 },
  { path: 'create.on_error.notify', step_id: 'notify', status: 'succeeded', attempts: 1, started_ms: now - 55000, ended_ms: now - 54000, seq: 3 },
  { path: 'each', step_id: 'each', status: 'succeeded', input: [1, 2], attempts: 1, started_ms: now - 54000, ended_ms: now - 50000, seq: 4 },
  { path: 'each[0].one', step_id: 'one', status: 'succeeded', attempts: 1, started_ms: now - 54000, ended_ms: now - 52000, seq: 5 },
  { path: 'each[1].one', step_id: 'one', status: 'succeeded', attempts: 1, started_ms: now - 52000, ended_ms: now - 50000, seq: 6 },
];
const bigSteps = [
  { path: 'each', step_id: 'each', status: 'succeeded', input: Array.from({ length: 100 }, (_, i) => ({ i })), attempts: 1, started_ms: now - 100000, ended_ms: now, seq: 0 },
  ...Array.from({ length: 199 }, (_, i) => ({ path: `each[${Math.floor(i / 2)}].${i % 2 ? 'b' : 'a'}`, step_id: i % 2 ? 'b' : 'a', status: 'succeeded', input: { i, text: 'x'.repeat(500) }, output: { ok: true }, attempts: 1, started_ms: now - 100000 + i * 500, ended_ms: now - 100000 + i * 500 + 400, seq: i + 1 })),
];
let liveFetches = 0;
const plugins = {
  plugins: [
    { name: 'http', world: 'connector', version: '0.1.0+abcdef012345', hash: 'abcdef0123456789', description: 'HTTP', actions: ['request'], triggers: [], used_by: ['contact-sync'], versions: [{ version: '0.1.0+abcdef012345', hash: 'abcdef0123456789', current: true, installed: true, flows: ['contact-sync'] }, { version: '0.0.9+111', hash: '111', current: false, installed: false, flows: [] }] },
    { name: 'clean-contact', world: 'transform', version: 'fedcba', hash: 'fedcba', used_by: [], versions: [] },
  ],
  problems: [{ file: 'bad.wasm', error: 'not a component' }],
};
const manifest = { name: 'http', version: '0.1.0', description: 'HTTP', actions: [{ name: 'request', description: 'req', input_schema: { type: 'object' }, output_schema: {} }], triggers: [], settings: [{ name: 'base_url', description: 'base', secret: false, required: true }, { name: 'authorization', description: 'auth header', secret: true, required: false }], hosts: ['api.example.com'] };

const oauthManifest = {
  name: 'oauth-app', version: '1.0.0', description: 'OAuth app', actions: [], triggers: [], settings: [], hosts: ['api.example.com'],
  oauth2: { grant: 'authorization_code', authorization_url: 'https://auth.example.com/authorize', token_url: 'https://auth.example.com/token', scopes: ['items:read', 'items:write'], pkce: true, placement: { kind: 'bearer' }, hosts: ['api.example.com'] },
};
/** What the fake server knows of the OAuth connections' authorizations. */
const oauthServer = { pending: false, signedIn: false, m2m: false };
function oauthView(over: Record<string, unknown> = {}) {
  return { grant: 'authorization_code', client_id: 'weft-ui', client_secret: true, authorization_url: 'https://login.example.org/authorize', token_url: 'https://login.example.org/token', scopes: ['items:read', 'items:write'], token_hosts: ['api.example.com'], status: 'not_authorized', reason: null, status_ms: null, expires_ms: null, scope: null, refreshable: false, refreshes: 0, refreshed_ms: null, pending: false, ...over };
}
function oauthConnections() {
  const base = { plugin: 'oauth-app', settings: {}, secrets: [], hosts: ['login.example.org'], oauth_offered: 'authorization_code' };
  const authorized = { status: 'authorized', status_ms: now, expires_ms: now + 3_600_000, refreshable: true, refreshes: 2 };
  return [
    { ...base, id: 'crm-oauth', oauth: oauthView(oauthServer.signedIn ? authorized : { pending: oauthServer.pending }) },
    { ...base, id: 'later', oauth: null },
    { ...base, id: 'stale', oauth: oauthView({ status: 'needs_reauthorization', reason: 'invalid_grant: the refresh token was revoked', status_ms: now }) },
    { ...base, id: 'm2m', plugin: 'oauth-m2m', oauth_offered: 'client_credentials', oauth: oauthView({ grant: 'client_credentials', authorization_url: null, ...(oauthServer.m2m ? authorized : {}), refreshes: 0, refreshable: false }) },
  ];
}

function replayAnswer(verdict: string, summary: string, differences: string[]) {
  return {
    run: run.id, flow: 'contact-sync', recorded_status: 'failed', verdict, summary,
    steps: [
      { path: 'clean', step_id: 'clean', plugin: 'clean-contact@fedcba', recorded: { output: { email: 'a@b.c' } }, replayed: { output: { email: 'a@b.c' } }, same: true },
      { path: 'create', step_id: 'create', plugin: 'http@0.1.0+abcdef012345', recorded: { error: { message: 'boom', retryable: true } }, replayed: { output: { status: 201 } }, same: false, differences, unanswered: ['GET https://crm/contacts: not in the recording'] },
      { path: 'create.on_error.notify', step_id: 'notify', recorded: {}, same: true, skipped: 'no recording' },
    ],
  };
}

const calls: { method: string; url: string; headers: Record<string, string>; body?: unknown }[] = [];
let signedIn = false;

function reply(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

async function fakeFetch(url: string, init: RequestInit = {}) {
  const method = init.method ?? 'GET';
  calls.push({ method, url, headers: (init.headers ?? {}) as Record<string, string>, body: init.body });
  const u = new URL(url, 'http://x');
  const p = u.pathname;
  if (p === '/api/session') {
    if (method === 'POST') {
      const { token } = JSON.parse(init.body as string);
      if (token !== 'good') return reply(401, { error: 'the admin token is wrong' });
      signedIn = true;
      return reply(200, { csrf: 'csrf-1' });
    }
    if (method === 'DELETE') { signedIn = false; return reply(200, {}); }
    return signedIn ? reply(200, { csrf: 'csrf-1' }) : reply(401, { error: 'sign in' });
  }
  if (p === '/healthz') return reply(200, { status: 'ok', plugins: 2, backlog: 2, executing: 1 });
  if (!signedIn) return reply(401, { error: 'sign in' });
  if (p === '/api/flows')
    return reply(200, [
      { name: 'contact-sync', version: 3, trigger: 'webhook', steps: 5, active: false, updated_ms: now, plugins_missing: ['slack'] },
      { name: 'by-hand', version: 1, trigger: 'manual', steps: 1, active: false, updated_ms: now },
      { name: 'nightly', version: 1, trigger: 'schedule', steps: 1, active: true, updated_ms: now },
    ]);
  if (p === '/api/stats') return reply(200, { flows: { 'contact-sync': { runs_24h: 4, failed_24h: 1, last_run: { id: run.id, status: 'failed', ended_ms: now - 50000 } }, nightly: { runs_24h: 0, failed_24h: 0, capped: false, last_run: null } }, minutes: Array.from({ length: 60 }, (_, i) => ({ t: now - (60 - i) * 60000, succeeded: i % 3, failed: i % 7 === 0 ? 1 : 0 })), backlog: 2, executing: 1 });
  if (p === '/api/flows/contact-sync/activate') return reply(409, { error: 'plugin slack is not installed' });
  if (p === '/api/flows/contact-sync') return reply(200, { flow: { name: 'contact-sync', version: 3, def: flowDef, updated_ms: now }, trigger: { flow: 'contact-sync', kind: 'webhook', active: true, webhook_url: 'http://127.0.0.1:8080/hooks/abc', manual_subscription: true, polling_fallback: false, poll_state: { cursor: 'c-42', seen: 3, last_ms: now - 1000, error: 'poll failed: 500' } }, yaml: 'name: contact-sync\nsteps: []\n' });
  if (p === '/api/flows/by-hand') return reply(200, { flow: { name: 'by-hand', version: 1, def: { name: 'by-hand', trigger: 'manual', steps: [{ id: 'only', transform: 't' }] }, updated_ms: now }, trigger: { flow: 'by-hand', kind: 'manual', active: false }, yaml: 'name: by-hand\n' });
  if (p === '/api/flows/by-hand/versions') return reply(200, [{ version: 1, updated_ms: now }]);
  if (p === '/api/flows/contact-sync/versions') return reply(200, [{ version: 3, updated_ms: now }, { version: 2, updated_ms: now - 86400000 }]);
  if (p === '/api/flows/contact-sync/versions/2') return reply(200, { flow: { name: 'contact-sync', version: 2, def: { ...flowDef, steps: flowDef.steps.slice(0, 1) }, updated_ms: now }, yaml: 'name: contact-sync # v2\n' });
  if (p === '/api/flows/contact-sync/versions/3') return reply(200, { flow: { name: 'contact-sync', version: 3, def: flowDef, updated_ms: now }, yaml: 'x' });
  if (p === '/api/flows/contact-sync/runs') return reply(202, { run: { ...run, id: 'run-new-1', status: 'queued' } });
  if (p === '/api/runs') return reply(200, [run, { ...run, id: 'run000000000000000', status: 'succeeded', error: undefined }]);
  if (p === `/api/runs/${run.id}`) return reply(200, { run, steps });
  if (p === '/api/runs/run-new-1') return reply(200, { run: { ...run, id: 'run-new-1', status: 'running', error: undefined }, steps: steps.slice(0, 1) });
  if (p === `/api/runs/${run.id}/rerun`) return reply(202, { run: { ...run, id: 'run-new-1', status: 'queued' } });
  if (p === `/api/runs/${run.id}/replay`) {
    const candidate = u.searchParams.get('plugin');
    if (candidate === 'http@9.9.9') return reply(400, { error: 'plugin "http" has no installed version "9.9.9"' });
    if (candidate || init.body) return reply(200, replayAnswer('now_succeeds', 'step create failed and succeeds now', ['failed before (boom <b>html</b>), succeeds now']));
    return reply(200, replayAnswer('still_fails', 'step create fails again: boom <b>html</b>', ['error: before "boom <b>html</b>", now "boom again"']));
  }
  if (p === '/api/runs/big') return reply(200, { run: { ...run, id: 'big', status: 'succeeded', error: undefined }, steps: bigSteps });
  if (p === '/api/runs/retrying') {
    const t = Date.now();
    const failure = { message: 'HTTP 503', retryable: true, kind: 'transient' };
    return reply(200, {
      run: { ...run, id: 'retrying', status: 'waiting', error: undefined, wake_ms: t + 41_500 },
      steps: [{ path: 'create', step_id: 'create', status: 'waiting', attempts: 1, error: failure, retried: [{ attempt: 1, started_ms: t - 2000, ended_ms: t - 1500, error: failure, wait_ms: 43_000 }], started_ms: t - 2000, ended_ms: t - 1500, wake_ms: t + 41_500, seq: 1 }],
    });
  }
  if (p === '/api/runs/live') {
    liveFetches++;
    return reply(200, { run: { ...run, id: 'live', status: 'running', error: undefined }, steps: steps.slice(0, 2).map((s) => ({ ...s, status: 'running', ended_ms: undefined, error: undefined })) });
  }
  if (p === '/api/plugins' && method === 'GET') return reply(200, plugins);
  if (p === '/api/plugins' && method === 'POST') return reply(400, { error: 'the file is not a WebAssembly component: magic mismatch' });
  if (p === '/api/plugins/http') return reply(200, { ...plugins.plugins[0], manifest });
  if (p === '/api/plugins/oauth-app') return reply(200, { name: 'oauth-app', world: 'connector', version: '1.0.0', hash: 'ab', used_by: [], versions: [], manifest: oauthManifest });
  if (p === '/api/connections' && method === 'GET') return reply(200, [{ id: 'crm', plugin: 'http', settings: { base_url: 'https://crm' }, secrets: ['authorization'], hosts: ['crm'] }, ...oauthConnections()]);
  const one = oauthConnections().find((c) => p === `/api/connections/${c.id}`);
  if (one && method === 'GET') return reply(200, one);
  if (p === '/api/connections/crm-oauth/authorize') {
    oauthServer.pending = true;
    return reply(200, { connection: 'crm-oauth', authorize_url: 'https://login.example.org/authorize?state=crm-oauth.x', authorized: false, expires_ms: now + 600_000, callback: 'http://x/oauth/callback' });
  }
  if (p === '/api/connections/m2m/authorize') {
    oauthServer.m2m = true;
    return reply(200, { connection: 'm2m', authorize_url: null, authorized: true, expires_ms: now + 3_600_000, callback: 'http://x/oauth/callback' });
  }
  if (p === '/api/connections/stale/authorize') return reply(502, { error: 'the token endpoint of "stale" is unreachable: connection refused' });
  if (p.startsWith('/api/connections/') && method === 'PUT') return reply(400, { error: 'host rule "bad host" is invalid' });
  return reply(404, { error: `no route ${method} ${p}` });
}

class FakeEventSource {
  static CLOSED = 2;
  static instances: FakeEventSource[] = [];
  readyState = 1;
  listeners: Record<string, ((e: MessageEvent) => void)[]> = {};
  constructor(public url: string) { FakeEventSource.instances.push(this); }
  addEventListener(type: string, fn: (e: MessageEvent) => void) { (this.listeners[type] ??= []).push(fn); }
  close() { this.readyState = 2; }
  emit(type: string, data: unknown) { for (const fn of this.listeners[type] ?? []) fn(new MessageEvent(type, { data: JSON.stringify(data) })); }
}

beforeAll(() => {
  vi.stubGlobal('fetch', fakeFetch);
  vi.stubGlobal('EventSource', FakeEventSource);
  vi.stubGlobal('ResizeObserver', class { observe() {} unobserve() {} disconnect() {} });
  class DOMMatrixReadOnly { m22 = 1; constructor() {} }
  vi.stubGlobal('DOMMatrixReadOnly', DOMMatrixReadOnly);
  Object.defineProperty(navigator, 'clipboard', { value: { writeText: vi.fn(async () => {}) }, configurable: true });
  HTMLCanvasElement.prototype.getContext = (() => null) as never;
});
afterEach(() => cleanup());

function go(path: string) {
  window.history.pushState(null, '', path);
}

describe('smoke', () => {
  it('signs in, shows an error for a bad token, then each page', async () => {
    go('/runs');
    render(<App />);
    await screen.findByTestId('token');
    fireEvent.change(screen.getByTestId('token'), { target: { value: 'bad' } });
    fireEvent.click(screen.getByTestId('sign-in'));
    expect((await screen.findByTestId('sign-in-error')).textContent).toBe('the admin token is wrong');
    fireEvent.change(screen.getByTestId('token'), { target: { value: 'good' } });
    fireEvent.click(screen.getByTestId('sign-in'));
    await screen.findByTestId('runs-table');
    await screen.findByTestId(`run-row-${run.id}`);
    expect(screen.getByTestId(`run-status-${run.id}`).textContent).toBe('failed');
    expect(document.title).toBe('Runs · weft');

    // live: a status change in place and a new run at the top
    const es = FakeEventSource.instances.at(-1)!;
    act(() => es.emit('run', { id: run.id, flow: 'contact-sync', status: 'cancelled', created_ms: run.created_ms, updated_ms: now }));
    expect(screen.getByTestId(`run-status-${run.id}`).textContent).toBe('cancelled');
    act(() => es.emit('run', { id: 'zz-live', flow: 'contact-sync', status: 'queued', created_ms: Date.now(), updated_ms: Date.now() }));
    const rows = screen.getByTestId('runs-table').querySelectorAll('tbody tr');
    expect(rows[0].getAttribute('data-testid')).toBe('run-row-zz-live');

    // filters in the URL
    fireEvent.change(screen.getByTestId('filter-status'), { target: { value: 'failed' } });
    await waitFor(() => expect(window.location.search).toBe('?status=failed'));
    await waitFor(() => expect(calls.at(-1)!.url).toContain('status=failed'));
    await screen.findByTestId(`run-row-${run.id}`);
    fireEvent.click(screen.getByTestId(`select-${run.id}`));
    fireEvent.click(screen.getByTestId('rerun-selected'));
    expect((await screen.findByTestId('rerun-result')).textContent).toContain('1 of 1 re-run started');
    const rerunCall = calls.find((c) => c.url.endsWith('/rerun'))!;
    expect(rerunCall.headers['X-Weft-Csrf']).toBe('csrf-1');
    // on the flows' current versions
    fireEvent.click(screen.getByTestId(`select-${run.id}`));
    fireEvent.click(screen.getByTestId('rerun-current-version'));
    fireEvent.click(screen.getByTestId('rerun-selected'));
    await waitFor(() => expect(calls.some((c) => c.url.endsWith('/rerun?current_version=true'))).toBe(true));
  });

  it('inspects a run', async () => {
    go(`/runs/${run.id}`);
    render(<App />);
    await screen.findByTestId('waterfall');
    expect(screen.getByTestId('run-status').textContent).toBe('failed');
    expect(screen.getByTestId('run-error').textContent).toContain('boom');
    for (const s of steps) expect(screen.getByTestId(`step-row-${s.path}`)).toBeTruthy();
    expect(screen.getByTestId('step-group-each[0]')).toBeTruthy();
    // auto-selected failed step
    const detail = await screen.findByTestId('step-detail');
    expect(screen.getByTestId('step-error').textContent).toContain('boom <b>html</b>');
    expect(screen.getByTestId('step-error').querySelector('b')).toBeNull();
    expect(screen.getByTestId('step-logs').textContent).toContain('<img src=x onerror=alert(1)>');
    expect(document.querySelector('img')).toBeNull();
    await waitFor(() => expect(screen.getByTestId('step-plugin').textContent).toContain('http'));
    await waitFor(() => expect(screen.getByTestId('step-plugin').textContent).toContain('0.1.0+abcdef012345'));
    expect(detail.textContent).toContain('retryable');
    // the error's kind, the run's too, and every attempt
    expect(screen.getByTestId('step-error-kind').textContent).toBe('rate-limited');
    expect(screen.getByTestId('step-error-kind').title).toContain('slow down');
    expect(screen.getByTestId('run-error-kind').textContent).toBe('rate-limited');
    const attempts = screen.getByTestId('step-attempts');
    expect(attempts.querySelectorAll('li.attempt')).toHaveLength(3);
    expect(screen.getByTestId('attempt-1').textContent).toContain('transient');
    expect(screen.getByTestId('attempt-1').textContent).toContain('HTTP 503');
    expect(screen.getByTestId('attempt-1').textContent).toContain('200 ms');
    expect(screen.getByTestId('attempt-1').textContent).toContain('waited 1.0 s before attempt 2');
    expect(screen.getByTestId('attempt-2').textContent).toContain('HTTP 429 <i>slow</i>');
    expect(screen.getByTestId('attempt-2').textContent).toContain('waited 2.3 s before attempt 3');
    expect(attempts.querySelector('i')).toBeNull();
    expect(screen.getByTestId('attempt-3').textContent).toContain('failed');
    expect(screen.getByTestId('attempt-3').textContent).toContain('boom <b>html</b>');
    // the waterfall: two failed attempts and their back-offs, then the last; the count stays
    const createRow = screen.getByTestId('step-row-create');
    expect(createRow.querySelectorAll('.wf-failed-attempt')).toHaveLength(2);
    expect(createRow.querySelectorAll('.wf-wait')).toHaveLength(2);
    expect(createRow.querySelectorAll('.wf-last')).toHaveLength(1);
    expect(createRow.textContent).toContain('×3');
    fireEvent.click(screen.getByTestId('step-row-clean'));
    expect(screen.getByTestId('step-detail').textContent).toContain('clean');
    // edit and re-run
    fireEvent.click(screen.getByTestId('edit-rerun'));
    const input = screen.getByTestId('edit-rerun-input') as HTMLTextAreaElement;
    expect(JSON.parse(input.value)).toEqual(run.trigger);
    fireEvent.change(input, { target: { value: '{bad' } });
    fireEvent.click(screen.getByTestId('edit-rerun-submit'));
    expect((await screen.findByTestId('edit-rerun-error')).textContent).toContain('not JSON');
    fireEvent.click(screen.getByTestId('rerun'));
    await waitFor(() => expect(window.location.pathname).toBe('/runs/run-new-1'));
    await screen.findByTestId('cancel');
  });

  it('replays a run offline, on its versions or a candidate', async () => {
    go(`/runs/${run.id}`);
    render(<App />);
    const button = (await screen.findByTestId('replay-run')) as HTMLButtonElement;
    expect(button.disabled).toBe(false);
    fireEvent.click(button);
    expect(button.textContent).toBe('Replaying…');
    const result = await screen.findByTestId('replay-result');
    const post = calls.filter((c) => c.url.startsWith(`/api/runs/${run.id}/replay`)).at(-1)!;
    expect(post.method).toBe('POST');
    expect(post.url).toBe(`/api/runs/${run.id}/replay`);
    expect(post.headers['X-Weft-Csrf']).toBe('csrf-1');
    expect(post.body).toBeUndefined();
    expect(button.textContent).toBe('Replay');
    expect(screen.getByTestId('replay-verdict').textContent).toBe('Still fails');
    expect(screen.getByTestId('replay-summary').textContent).toBe('step create fails again: boom <b>html</b>');
    expect(screen.getByTestId('replay-finding-clean').textContent).toBe('same');
    expect(screen.getByTestId('replay-step-clean').textContent).toContain('clean-contact@fedcba');
    expect(screen.getByTestId('replay-finding-create').textContent).toBe('differs');
    const create = screen.getByTestId('replay-step-create');
    expect(create.textContent).toContain('http@0.1.0+abcdef012345');
    expect(create.textContent).toContain('error: before "boom <b>html</b>", now "boom again"');
    expect(create.textContent).toContain('GET https://crm/contacts: not in the recording');
    expect(screen.getByTestId('replay-finding-create.on_error.notify').textContent).toBe('skipped');
    expect(screen.getByTestId('replay-step-create.on_error.notify').textContent).toContain('no recording');
    // what plugins gave shows as text
    expect(result.querySelector('b')).toBeNull();

    // on an installed version
    fireEvent.change(screen.getByTestId('replay-plugin'), { target: { value: ' http@0.2.0 ' } });
    fireEvent.click(button);
    await waitFor(() => expect(screen.getByTestId('replay-verdict').textContent).toBe('Now succeeds'));
    expect(calls.at(-1)!.url).toBe(`/api/runs/${run.id}/replay?plugin=http%400.2.0`);
    expect(screen.getByTestId('replay-summary').textContent).toBe('step create failed and succeeds now');

    // the server's error, and the last result gone
    fireEvent.change(screen.getByTestId('replay-plugin'), { target: { value: 'http@9.9.9' } });
    fireEvent.click(button);
    expect((await screen.findByTestId('replay-error')).textContent).toBe('plugin "http" has no installed version "9.9.9"');
    expect(screen.queryByTestId('replay-result')).toBeNull();

    // a candidate file: both given is refused before asking
    const file = new File([new Uint8Array([0, 97, 115, 109])], 'Clean-Contact.wasm', { type: 'application/wasm' });
    fireEvent.change(screen.getByTestId('replay-file'), { target: { files: [file] } });
    const before = calls.length;
    fireEvent.click(button);
    expect(screen.getByTestId('replay-error').textContent).toBe('give an installed version or a .wasm file, not both');
    expect(calls.length).toBe(before);
    // the file alone goes as the body
    fireEvent.change(screen.getByTestId('replay-plugin'), { target: { value: '' } });
    fireEvent.click(button);
    await waitFor(() => expect(screen.getByTestId('replay-verdict').textContent).toBe('Now succeeds'));
    const upload = calls.at(-1)!;
    expect(upload.url).toBe(`/api/runs/${run.id}/replay?name=clean-contact`);
    expect(upload.headers['Content-Type']).toBe('application/wasm');
    expect(upload.headers['X-Weft-Csrf']).toBe('csrf-1');
    expect(upload.body).toBe(file);
    expect(screen.queryByTestId('replay-error')).toBeNull();
  });

  it('replays only a run that has ended', async () => {
    go('/runs/live');
    render(<App />);
    await screen.findByTestId('step-row-clean');
    const button = screen.getByTestId('replay-run') as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    expect(button.title).toBe('A run can be replayed once it has ended');
  });

  it('says when a step waiting to retry tries again', async () => {
    go('/runs/retrying');
    render(<App />);
    fireEvent.click(await screen.findByTestId('step-row-create'));
    expect(screen.getByTestId('step-error-kind').textContent).toBe('transient');
    expect(screen.getByTestId('attempt-1').textContent).toContain('waiting 43.0 s before attempt 2');
    expect(screen.getByTestId('step-next-attempt').textContent).toMatch(/next attempt at \d\d:\d\d:\d\d \(in (40|41) s\)/);
    expect(screen.queryByTestId('run-error-kind')).toBeNull();
    const row = screen.getByTestId('step-row-create');
    expect(row.querySelectorAll('.wf-failed-attempt')).toHaveLength(1);
    expect(row.querySelector('.wf-wait.open')).toBeTruthy();
  });

  it('renders a 200-step run quickly, with JSON viewers only for the selected step', async () => {
    go('/runs/big');
    const t = performance.now();
    render(<App />);
    await screen.findByTestId('step-row-each[99].a');
    // jsdom with development React is several times slower than a browser; this only catches a blow-up.
    expect(performance.now() - t).toBeLessThan(6000);
    expect(screen.getByTestId('waterfall').querySelectorAll('[data-testid^="step-row-"]').length).toBe(200);
    expect(screen.queryByTestId('step-input')).toBeNull();
    fireEvent.click(screen.getByTestId('step-row-each[5].b'));
    expect(screen.getByTestId('step-input')).toBeTruthy();
  });

  it('refetches a live run on its events, throttled', async () => {
    go('/runs/live');
    render(<App />);
    await screen.findByTestId('step-row-clean');
    const es = FakeEventSource.instances.at(-1)!;
    const before = liveFetches;
    act(() => {
      for (let i = 0; i < 20; i++) es.emit('step', { run: 'live', path: 'clean', status: 'succeeded' });
      es.emit('step', { run: 'other', path: 'x', status: 'succeeded' });
    });
    await waitFor(() => expect(liveFetches).toBe(before + 2)); // one at once, one trailing
    await new Promise((r) => setTimeout(r, 400));
    expect(liveFetches).toBe(before + 2);
    // the stream opening (again) and the server's `lagged` both make the page read the run again
    act(() => es.emit('open', {}));
    await waitFor(() => expect(liveFetches).toBe(before + 3));
    act(() => es.emit('lagged', 12));
    await waitFor(() => expect(liveFetches).toBe(before + 4));
  });

  it('lists flows and toggles with an error', async () => {
    go('/flows');
    render(<App />);
    await screen.findByTestId('flow-row-contact-sync');
    fireEvent.click(screen.getByTestId('toggle-contact-sync'));
    expect((await screen.findByTestId('toggle-error-contact-sync')).textContent).toBe('plugin slack is not installed');
    expect((screen.getByTestId('toggle-contact-sync') as HTMLInputElement).checked).toBe(false);
    // a manual flow has no switch; flows that never ran show "—"
    expect(screen.queryByTestId('toggle-by-hand')).toBeNull();
    expect(screen.getByTestId('manual-by-hand').textContent).toBe('manual');
    expect(screen.getByTestId('toggle-nightly')).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId('last-run-contact-sync').textContent).toContain('failed'));
    expect(screen.getByTestId('last-run-nightly').textContent).toBe('—');
    expect(screen.getByTestId('last-run-by-hand').textContent).toBe('—');
    expect(screen.getByTestId('flow-row-nightly').textContent).not.toMatch(/error|undefined|NaN/i);
    expect(screen.getByTestId('flow-row-by-hand').textContent).not.toMatch(/error|undefined|NaN/i);
    fireEvent.change(screen.getByTestId('flow-filter'), { target: { value: 'zzz' } });
    expect(screen.queryByTestId('flow-row-contact-sync')).toBeNull();
  });

  it('shows a flow with its diagram', async () => {
    go('/flows/contact-sync');
    render(<App />);
    await screen.findByTestId('flow-yaml', {}, { timeout: 5000 });
    expect(screen.getByTestId('webhook-url').textContent).toBe('http://127.0.0.1:8080/hooks/abc');
    fireEvent.click(screen.getByTestId('copy-webhook'));
    expect(navigator.clipboard.writeText).toHaveBeenCalledWith('http://127.0.0.1:8080/hooks/abc');
    expect(screen.getByTestId('poll-error').textContent).toBe('poll failed: 500');
    await screen.findByTestId('node-create');
    // the diagram comes first, before the trigger card
    const diagram = screen.getByTestId('flow-diagram');
    expect(diagram.compareDocumentPosition(screen.getByTestId('trigger-card')) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(screen.getByTestId('toggle-contact-sync')).toBeTruthy();
    expect(screen.queryByTestId('manual-note')).toBeNull();
    for (const id of ['clean', 'notify', 'check', 'wait', 'each', 'one', 'route', 'x', 'y']) expect(screen.getByTestId(`node-${id}`)).toBeTruthy();
    fireEvent.click(screen.getByTestId('node-create'));
    await screen.findByTestId('step-panel');
    await waitFor(() => expect(screen.getByTestId('step-panel').textContent).toContain('run000000000000001'));
    fireEvent.click(screen.getByTestId('version-2'));
    await waitFor(() => expect(screen.getByTestId('flow-yaml').textContent).toContain('# v2'));
    fireEvent.change(screen.getByTestId('run-input'), { target: { value: '{"a":' } });
    fireEvent.click(screen.getByTestId('run-now'));
    expect((await screen.findByTestId('run-input-error')).textContent).toContain('not JSON');
    fireEvent.change(screen.getByTestId('run-input'), { target: { value: '{"a":1}' } });
    fireEvent.click(screen.getByTestId('run-now'));
    await waitFor(() => expect(window.location.pathname).toBe('/runs/run-new-1'));
    expect(JSON.parse(calls.find((c) => c.url === '/api/flows/contact-sync/runs')!.body as string)).toEqual({ a: 1 });
  });

  it('shows a manual flow without an active switch', async () => {
    go('/flows/by-hand');
    render(<App />);
    await screen.findByTestId('flow-yaml', {}, { timeout: 5000 });
    expect(screen.queryByTestId('toggle-by-hand')).toBeNull();
    expect(screen.getByTestId('manual-note').textContent).toBe('manual — runs start by hand or through the API');
    expect(screen.getByTestId('trigger-card').textContent).not.toContain('Active');
    expect(document.querySelector('input[role=switch]')).toBeNull();
  });

  it('lists plugins and shows upload errors verbatim', async () => {
    go('/plugins');
    render(<App />);
    await screen.findByTestId('plugin-row-http');
    expect(screen.getByTestId('plugin-problems').textContent).toContain('bad.wasm');
    fireEvent.change(screen.getByTestId('plugin-name'), { target: { value: 'my-t' } });
    const file = new File([new Uint8Array([0, 97, 115, 109])], 'x.wasm', { type: 'application/wasm' });
    fireEvent.change(screen.getByTestId('plugin-file'), { target: { files: [file] } });
    expect((await screen.findByTestId('plugin-upload-error')).textContent).toBe('the file is not a WebAssembly component: magic mismatch');
    expect(calls.find((c) => c.method === 'POST' && c.url.startsWith('/api/plugins'))!.url).toBe('/api/plugins?name=my-t');
    fireEvent.click(screen.getByTestId('plugin-open-http'));
    await waitFor(() => expect(screen.getByTestId('plugin-detail').textContent).toContain('api.example.com'));
    fireEvent.click(screen.getByTestId('plugin-remove-http'));
    expect(screen.getByTestId('plugin-remove-dialog').textContent).toContain('contact-sync');
  });

  it('edits a connection from the manifest', async () => {
    go('/connections');
    render(<App />);
    await screen.findByTestId('connection-row-crm');
    expect(screen.getByTestId('connection-row-crm').textContent).not.toContain('secret-value');
    fireEvent.click(screen.getByTestId('conn-edit-crm'));
    const base = (await screen.findByTestId('conn-setting-base_url')) as HTMLInputElement;
    expect(base.value).toBe('https://crm');
    fireEvent.change(screen.getByTestId('conn-secret-authorization'), { target: { value: 'Bearer x' } });
    fireEvent.change(screen.getByTestId('conn-hosts'), { target: { value: 'crm, bad host' } });
    fireEvent.click(screen.getByTestId('conn-save'));
    expect((await screen.findByTestId('conn-error')).textContent).toBe('host rule "bad host" is invalid');
    const put = calls.find((c) => c.method === 'PUT')!;
    expect(JSON.parse(put.body as string)).toEqual({ plugin: 'http', settings: { base_url: 'https://crm' }, secrets: { authorization: 'Bearer x' }, hosts: ['crm', 'bad host'] });
  });

  it('shows OAuth connections, authorizes them and edits their client', async () => {
    go('/connections');
    render(<App />);
    await screen.findByTestId('connection-row-crm-oauth');
    expect(screen.queryByTestId('oauth-status-crm')).toBeNull();
    expect(screen.queryByTestId('authorize-crm')).toBeNull();
    expect(screen.getByTestId('oauth-status-later').textContent).toBe('OAuth available · set up');
    expect(screen.queryByTestId('authorize-later')).toBeNull();
    expect(screen.getByTestId('oauth-status-crm-oauth').textContent).toBe('Not authorized');
    expect(screen.getByTestId('authorize-crm-oauth').textContent).toBe('Authorize');
    expect(screen.getByTestId('oauth-status-stale').textContent).toBe('Needs re-authorization');
    expect(screen.getByTestId('oauth-reason-stale').textContent).toBe('invalid_grant: the refresh token was revoked');
    expect(screen.getByTestId('authorize-stale').textContent).toBe('Re-authorize');

    // The authorization code: the sign-in opens in a new tab, and the page follows it.
    const tab = { opener: window as unknown };
    const open = vi.spyOn(window, 'open').mockImplementation(() => tab as Window);
    fireEvent.click(screen.getByTestId('authorize-crm-oauth'));
    expect((await screen.findByTestId('oauth-note-crm-oauth')).textContent).toBe('Finish signing in in the new tab; this page updates when you come back.');
    expect(open).toHaveBeenCalledWith('https://login.example.org/authorize?state=crm-oauth.x', '_blank');
    expect(tab.opener).toBeNull();
    const post = calls.filter((c) => c.method === 'POST' && c.url === '/api/connections/crm-oauth/authorize').at(-1)!;
    expect(post.headers['X-Weft-Csrf']).toBe('csrf-1');
    oauthServer.signedIn = true;
    oauthServer.pending = false;
    act(() => {
      window.dispatchEvent(new Event('focus'));
    });
    await waitFor(() => expect(screen.getByTestId('oauth-status-crm-oauth').textContent).toBe('Authorized'));
    expect(screen.queryByTestId('oauth-note-crm-oauth')).toBeNull();
    // An hour from now: after 23:00 that is tomorrow, which the line says with the date.
    expect(screen.getByTestId('oauth-detail-crm-oauth').textContent).toMatch(/^token until (\d{4}-\d\d-\d\d )?\d\d:\d\d · refreshed 2×$/);
    expect(screen.getByTestId('authorize-crm-oauth').textContent).toBe('Re-authorize');
    open.mockRestore();

    // Client credentials: authorized at once, no tab.
    fireEvent.click(screen.getByTestId('authorize-m2m'));
    await waitFor(() => expect(screen.getByTestId('oauth-status-m2m').textContent).toBe('Authorized'));
    expect(screen.queryByTestId('oauth-note-m2m')).toBeNull();

    // The server's error, in the row.
    fireEvent.click(screen.getByTestId('authorize-stale'));
    expect((await screen.findByTestId('oauth-note-stale')).textContent).toBe('the token endpoint of "stale" is unreachable: connection refused');

    // The form: the stored client, the connector's defaults as placeholders, the overrides kept.
    fireEvent.click(screen.getByTestId('conn-edit-crm-oauth'));
    const clientId = (await screen.findByTestId('conn-oauth-client-id')) as HTMLInputElement;
    expect(clientId.value).toBe('weft-ui');
    const secret = screen.getByTestId('conn-oauth-client-secret') as HTMLInputElement;
    expect(secret.placeholder).toBe('•••• stored');
    expect(secret.value).toBe('');
    expect(secret.type).toBe('password');
    expect((screen.getByTestId('conn-oauth-token-url') as HTMLInputElement).value).toBe('https://login.example.org/token');
    const scopes = screen.getByTestId('conn-oauth-scopes') as HTMLInputElement;
    expect(scopes.placeholder).toBe('items:read items:write');
    expect(scopes.value).toBe('');
    expect(screen.getByTestId('conn-form').textContent).toContain('The connector wants: api.example.com, login.example.org');
    fireEvent.change(scopes, { target: { value: 'items:read' } });
    fireEvent.click(screen.getByTestId('conn-save'));
    await screen.findByTestId('conn-error');
    const put = calls.filter((c) => c.method === 'PUT').at(-1)!;
    expect(JSON.parse(put.body as string)).toEqual({
      plugin: 'oauth-app',
      settings: {},
      secrets: {},
      hosts: ['login.example.org'],
      oauth: { client_id: 'weft-ui', authorization_url: 'https://login.example.org/authorize', token_url: 'https://login.example.org/token', scopes: ['items:read'] },
    });
    // Emptied client id: said, nothing sent.
    const puts = calls.filter((c) => c.method === 'PUT').length;
    fireEvent.change(clientId, { target: { value: '' } });
    fireEvent.click(screen.getByTestId('conn-save'));
    await waitFor(() => expect(screen.getByTestId('conn-error').textContent).toContain('oauth.client_id: required'));
    expect(calls.filter((c) => c.method === 'PUT').length).toBe(puts);
    // Removing the client sends null.
    fireEvent.click(screen.getByTestId('conn-oauth-remove'));
    fireEvent.click(screen.getByTestId('conn-save'));
    await waitFor(() => expect(calls.filter((c) => c.method === 'PUT').length).toBe(puts + 1));
    expect(JSON.parse(calls.filter((c) => c.method === 'PUT').at(-1)!.body as string).oauth).toBeNull();
  });

  it('shows the overview and signs out', async () => {
    go('/');
    render(<App />);
    await screen.findByTestId('overview-chart', {}, { timeout: 5000 });
    expect(screen.getByTestId('stat-backlog').textContent).toContain('2');
    await waitFor(() => expect(screen.getByTestId('health').textContent).toBe('server ok · 2 plugins loaded'));
    expect(screen.getByTestId('failing-contact-sync')).toBeTruthy();
    fireEvent.click(screen.getByTestId('sign-out'));
    await screen.findByTestId('token');
    expect(calls.at(-1)!.method).toBe('DELETE');
    expect(calls.at(-1)!.headers['X-Weft-Csrf']).toBe('csrf-1');
  });
});

describe('rateText', () => {
  it('says a rate as people do', async () => {
    const { rateText } = await import('./pages/Connections');
    expect(rateText({ per_second: 10, burst: 20 })).toBe('10/s, bursts of 20');
    expect(rateText({ per_minute: 600 })).toBe('600/min');
    expect(rateText({ per_second: 5, burst: 1 })).toBe('5/s');
  });
});
