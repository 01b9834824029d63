// The admin API client: one function per operation. Authentication is the session cookie the
// browser holds; the CSRF token lives in this module's memory only (never in Web Storage) and
// goes with every non-GET request as `X-Weft-Csrf`.

import type { Problem } from './editor/shared';
import type {
  AuthorizeResult,
  Connection,
  FlowDef,
  ConnectionInput,
  FlowDetail,
  FlowSummary,
  FlowVersion,
  FlowVersionDetail,
  Health,
  Json,
  Plugin,
  PluginList,
  Run,
  RunReplay,
  RunStatus,
  RunWithSteps,
  Stats,
  TriggerStatus,
} from './types';

export class ApiError extends Error {
  readonly status: number;
  /** An invalid flow's problems (422), each with its path. */
  readonly problems?: Problem[];
  constructor(status: number, message: string, problems?: Problem[]) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.problems = problems;
  }
}

let csrf: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setCsrf(token: string | null): void {
  csrf = token;
}

export function hasCsrf(): boolean {
  return csrf !== null;
}

/** Called when any API call (other than the session's own) answers 401. */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

interface RequestOptions {
  query?: Query;
  /** A JSON body. */
  json?: unknown;
  /** A raw body (plugin uploads). */
  raw?: Blob | ArrayBuffer;
  rawType?: string;
  /** Session calls handle 401 themselves. */
  session?: boolean;
}

async function errorMessage(response: Response): Promise<string | { error: string; problems?: Problem[] }> {
  const text = await response.text().catch(() => '');
  if (text) {
    try {
      const body = JSON.parse(text) as unknown;
      if (body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string') {
        const { error, problems } = body as { error: string; problems?: Problem[] };
        return Array.isArray(problems) ? { error, problems } : error;
      }
    } catch {
      // not JSON: the text itself is the message
    }
    return text.length > 500 ? `${text.slice(0, 500)}…` : text;
  }
  return `${response.status} ${response.statusText || 'error'}`.trim();
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.raw !== undefined) {
    headers['Content-Type'] = options.rawType ?? 'application/octet-stream';
    body = options.raw;
  }
  if (method !== 'GET' && method !== 'HEAD' && csrf !== null) {
    headers['X-Weft-Csrf'] = csrf;
  }
  let response: Response;
  try {
    response = await fetch(withQuery(path, options.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiError(0, `cannot reach the server: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!response.ok) {
    const message = await errorMessage(response);
    if (response.status === 401 && !options.session && onUnauthorized) onUnauthorized();
    if (typeof message === 'string') throw new ApiError(response.status, message);
    throw new ApiError(response.status, message.error, message.problems);
  }
  const text = await response.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(response.status, `the server answered with something that is not JSON: ${text.slice(0, 200)}`);
  }
}

// ---- session -----------------------------------------------------------------------------------

/** Sign in with the admin token; keeps the CSRF token in memory. */
export async function signIn(token: string): Promise<void> {
  const out = await request<{ csrf: string }>('POST', '/api/session', { json: { token }, session: true });
  setCsrf(out.csrf);
}

/** Restore the session after a reload: true when the cookie is still good. */
export async function restoreSession(): Promise<boolean> {
  try {
    const out = await request<{ csrf: string }>('GET', '/api/session', { session: true });
    setCsrf(out.csrf);
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      setCsrf(null);
      return false;
    }
    throw e;
  }
}

export async function signOut(): Promise<void> {
  try {
    await request<unknown>('DELETE', '/api/session', { session: true });
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) throw e;
  }
  setCsrf(null);
}

// ---- flows -------------------------------------------------------------------------------------

const enc = encodeURIComponent;

export const listFlows = () => request<FlowSummary[]>('GET', '/api/flows');
export const getFlow = (name: string) => request<FlowDetail>('GET', `/api/flows/${enc(name)}`);
export const listFlowVersions = (name: string) => request<FlowVersion[]>('GET', `/api/flows/${enc(name)}/versions`);
export const getFlowVersion = (name: string, version: number) =>
  request<FlowVersionDetail>('GET', `/api/flows/${enc(name)}/versions/${version}`);
export const activateFlow = (name: string) => request<TriggerStatus>('POST', `/api/flows/${enc(name)}/activate`);
export const deactivateFlow = (name: string) =>
  request<{ flow?: string; active: boolean; warning?: string | null }>('POST', `/api/flows/${enc(name)}/deactivate`);
/** Save a flow (YAML/JSON text, or the definition as data): a new version when it changed. */
export const saveFlow = (flow: FlowDef | string, existing: string | null) => {
  const path = existing === null ? '/api/flows' : `/api/flows/${enc(existing)}`;
  return request<SaveResult>(existing === null ? 'POST' : 'PUT', path, typeof flow === 'string' ? { raw: new Blob([flow]), rawType: 'application/yaml' } : { json: flow });
};
/** Check a flow as saving it would, without saving it. */
export const validateFlow = (flow: FlowDef | string) =>
  request<Validation>('POST', '/api/flows/validate', typeof flow === 'string' ? { raw: new Blob([flow]), rawType: 'application/yaml' } : { json: flow });
/** A test run of a definition (saved or not) on a sample event; pinned steps are not called. */
export const testFlow = (body: { flow: FlowDef | string; trigger: Json; pinned?: Record<string, Json>; until?: string }) =>
  request<{ run: Run }>('POST', '/api/flows/test', { json: body });
/** Render a template on sample data, as a step's input is rendered. */
export const previewTemplate = (body: { template: Json; trigger: Json; steps: Record<string, { output: Json }>; item?: Json; index?: number }) =>
  request<{ value?: Json; error?: string; path?: string }>('POST', '/api/expressions/preview', { json: body });
export const flowDiff = (name: string, from: number, to: number) =>
  request<{ flow: string; from: number; to: number; diff: string; changed: boolean }>('GET', `/api/flows/${enc(name)}/diff`, { query: { from, to } });
/** Roll back: the version's definition becomes current again, as a new version. */
export const restoreVersion = (name: string, version: number) =>
  request<SaveResult>('POST', `/api/flows/${enc(name)}/versions/${version}/restore`);

export interface SaveResult {
  name: string;
  version: number;
  changed: boolean;
  warning?: string | null;
}

export interface Validation {
  valid: boolean;
  problems: Problem[];
  flow: FlowDef | null;
}

/** "Run now": the body is the trigger event. */
export const startRun = (name: string, event: Json) =>
  request<{ run: Run }>('POST', `/api/flows/${enc(name)}/runs`, { json: event });

export const getStats = () => request<Stats>('GET', '/api/stats');
export const getHealth = () => request<Health>('GET', '/healthz');

// ---- runs --------------------------------------------------------------------------------------

export interface RunQuery {
  flow?: string;
  status?: RunStatus | '';
  since_ms?: number;
  before_ms?: number;
  limit?: number;
  /** Test runs (from the editor) instead of production runs. */
  test?: boolean;
}

export const listRuns = (query: RunQuery = {}) => request<Run[]>('GET', '/api/runs', { query: { ...query } });
export const getRun = (id: string) => request<RunWithSteps>('GET', `/api/runs/${enc(id)}`);
export const rerunRun = (id: string, currentVersion = false) =>
  request<{ run: Run }>('POST', `/api/runs/${enc(id)}/rerun`, {
    query: currentVersion ? { current_version: true } : undefined,
  });
export const cancelRun = (id: string) => request<{ run?: Run }>('POST', `/api/runs/${enc(id)}/cancel`);

/** What to replay a run with instead of its own plugin versions. */
export type ReplayCandidate =
  /** An installed version, `NAME@VERSION`. */
  | { plugin: string }
  /** A component not installed; `name` is the name a transform goes by (a connector is named by its manifest). */
  | { wasm: Blob | ArrayBuffer; name?: string };

/** Replay a run offline from what its steps recorded: it reaches no application and writes nothing. */
export const replayRun = (id: string, candidate?: ReplayCandidate) =>
  request<RunReplay>(
    'POST',
    `/api/runs/${enc(id)}/replay`,
    candidate === undefined
      ? {}
      : 'plugin' in candidate
        ? { query: { plugin: candidate.plugin } }
        : { query: { name: candidate.name }, raw: candidate.wasm, rawType: 'application/wasm' },
  );

// ---- plugins -----------------------------------------------------------------------------------

export const listPlugins = () => request<PluginList>('GET', '/api/plugins');
export const getPlugin = (name: string) => request<Plugin>('GET', `/api/plugins/${enc(name)}`);
export const uploadPlugin = (bytes: Blob | ArrayBuffer, name?: string) =>
  request<Plugin>('POST', '/api/plugins', { query: { name }, raw: bytes, rawType: 'application/wasm' });
export const removePlugin = (name: string, force = false) =>
  request<{ removed: string; flows_affected?: string[] }>('DELETE', `/api/plugins/${enc(name)}`, {
    query: force ? { force: true } : undefined,
  });

// ---- connections -------------------------------------------------------------------------------

export const listConnections = () => request<Connection[]>('GET', '/api/connections');
export const getConnection = (id: string) => request<Connection>('GET', `/api/connections/${enc(id)}`);
export const putConnection = (id: string, input: ConnectionInput) =>
  request<Connection>('PUT', `/api/connections/${enc(id)}`, { json: input });
export const deleteConnection = (id: string) => request<unknown>('DELETE', `/api/connections/${enc(id)}`);
/** Start authorizing an OAuth 2.0 connection: the URL to sign in at, or authorized at once. */
export const authorizeConnection = (id: string) => request<AuthorizeResult>('POST', `/api/connections/${enc(id)}/authorize`);

/** A message for anything thrown. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
