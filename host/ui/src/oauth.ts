// OAuth 2.0 connections: a connection's authorization in a few words, the connection form's
// OAuth client fields and the `oauth` of a PUT built back from them, how an authorization
// started from the page ends, and opening the application's sign-in page. Pure (the window is
// passed in), so it is unit-tested.

import { absoluteTime } from './format';
import { parseHosts } from './settings';
import type { Connection, OAuth2Spec, OAuthInput, OAuthStatus, OAuthView } from './types';

/** A connection's OAuth state as its badge reads, or '' when there is nothing to tell. */
export function oauthStatusText(c: Pick<Connection, 'oauth' | 'oauth_offered'>): string {
  if (!c.oauth) return c.oauth_offered ? 'OAuth available' : '';
  switch (c.oauth.status) {
    case 'authorized':
      return 'Authorized';
    case 'needs_reauthorization':
      return 'Needs re-authorization';
    default:
      return 'Not authorized';
  }
}

/** The pill class of a status badge. */
export function oauthPillClass(status: OAuthStatus): string {
  if (status === 'authorized') return 'pill-succeeded';
  if (status === 'needs_reauthorization') return 'pill-failed';
  return 'pill-queued';
}

/** "Authorize", or "Re-authorize" once it was authorized (or needs to be again). */
export function authorizeLabel(o: OAuthView): string {
  return o.status === 'not_authorized' ? 'Authorize' : 'Re-authorize';
}

/** A time in a table cell: the time of day when it is today, else the date too. */
function when(ms: number, now: number): string {
  const text = absoluteTime(ms);
  return text.slice(0, 10) === absoluteTime(now).slice(0, 10) ? text.slice(11, 16) : text.slice(0, 16);
}

/** The line under an "Authorized" badge: `token until 14:03 · refreshed 2×`. */
export function oauthDetail(o: OAuthView, now: number = Date.now()): string {
  if (o.status !== 'authorized') return '';
  const parts: string[] = [];
  if (o.expires_ms !== null && o.expires_ms !== undefined) {
    parts.push(o.expires_ms > now ? `token until ${when(o.expires_ms, now)}` : `token expired ${when(o.expires_ms, now)}`);
  }
  if (o.refreshes > 0) parts.push(`refreshed ${o.refreshes}×`);
  return parts.join(' · ');
}

const GRANT_TEXT: Record<string, string> = {
  authorization_code: 'authorization code',
  client_credentials: 'client credentials',
};

/** The badge's tooltip: everything known about the authorization, one fact a line. */
export function oauthTooltip(o: OAuthView): string {
  const lines: string[] = [];
  const since = o.status_ms ? ` since ${absoluteTime(o.status_ms)}` : '';
  if (o.status === 'authorized') lines.push(`Authorized${since}`);
  else if (o.status === 'needs_reauthorization') lines.push(`Needs re-authorization${since}${o.reason ? `: ${o.reason}` : ''}`);
  else lines.push('Not authorized yet');
  if (o.grant) lines.push(`Grant: ${GRANT_TEXT[o.grant] ?? o.grant}`);
  lines.push(`Client ID: ${o.client_id}${o.client_secret ? ' (secret stored)' : ''}`);
  if (o.status === 'authorized') {
    if (o.expires_ms) lines.push(`Token until ${absoluteTime(o.expires_ms)}`);
    if (o.scope) lines.push(`Scopes granted: ${o.scope}`);
    if (o.refreshes > 0) lines.push(`Refreshed ${o.refreshes}×${o.refreshed_ms ? `, last ${absoluteTime(o.refreshed_ms)}` : ''}`);
    else if (o.refreshable) lines.push('Not refreshed yet');
    if (!o.refreshable && o.grant !== 'client_credentials') lines.push('No refresh token: authorize again when the token expires');
  }
  if (o.token_hosts?.length) lines.push(`Token sent to: ${o.token_hosts.join(', ')}`);
  if (o.pending) lines.push('A sign-in was started and has not come back yet');
  return lines.join('\n');
}

// ---- the form ------------------------------------------------------------------------------------

/** The OAuth client fields of the connection form, as typed. */
export interface OAuthFields {
  clientId: string;
  /** Empty: the stored secret is kept. */
  clientSecret: string;
  removeSecret: boolean;
  /** The overrides; empty means the connector's default. */
  authorizationUrl: string;
  tokenUrl: string;
  /** Space separated. */
  scopes: string;
  /** Comma or newline separated. */
  tokenHosts: string;
  /** Remove the client and its tokens. */
  remove: boolean;
}

export const NO_OAUTH_FIELDS: OAuthFields = {
  clientId: '',
  clientSecret: '',
  removeSecret: false,
  authorizationUrl: '',
  tokenUrl: '',
  scopes: '',
  tokenHosts: '',
  remove: false,
};

function sameList(a: string[] | null | undefined, b: string[] | undefined): boolean {
  return !!a && !!b && a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The fields for a stored client. The API shows the URLs, scopes and hosts in effect; those
 * equal to the connector's defaults stay empty (the default is the placeholder), so saving the
 * form unchanged keeps following the connector.
 */
export function oauthFields(view: OAuthView | null | undefined, spec: OAuth2Spec | undefined): OAuthFields {
  if (!view) return { ...NO_OAUTH_FIELDS };
  const text = (value: string | null, fallback: string | undefined) => (value && value !== fallback ? value : '');
  return {
    ...NO_OAUTH_FIELDS,
    clientId: view.client_id,
    authorizationUrl: spec?.grant === 'client_credentials' ? '' : text(view.authorization_url, spec?.authorization_url),
    tokenUrl: text(view.token_url, spec?.token_url),
    scopes: view.scopes && !sameList(view.scopes, spec?.scopes) ? view.scopes.join(' ') : '',
    tokenHosts: view.token_hosts && !sameList(view.token_hosts, spec?.hosts) ? view.token_hosts.join('\n') : '',
  };
}

/** Whether any advanced field (an override) holds something. */
export function hasOverrides(f: OAuthFields): boolean {
  return [f.authorizationUrl, f.tokenUrl, f.scopes, f.tokenHosts].some((v) => v.trim() !== '');
}

/** Scopes typed space separated (commas are part of a scope for some applications). */
export function parseScopes(text: string): string[] {
  return text.split(/\s+/).filter((s) => s !== '');
}

function checkUrl(field: string, text: string): string {
  const url = text.trim();
  if (!/^https?:\/\/[^/\s]/i.test(url) || /\s/.test(url)) throw new Error(`oauth.${field}: ${JSON.stringify(url)} is not an http(s) URL`);
  return url;
}

/**
 * The `oauth` of a PUT: `undefined` leaves the stored client as it is (or sets none), `null`
 * removes it with its tokens, else the client. `stored` says whether the connection has a client.
 * Throws an Error naming the field, as the server does, when something does not parse.
 */
export function buildOAuth(f: OAuthFields, stored: boolean): OAuthInput | null | undefined {
  if (f.remove) return stored ? null : undefined;
  const clientId = f.clientId.trim();
  if (!clientId) {
    if (stored) throw new Error('oauth.client_id: required (tick “remove the OAuth client” to drop it)');
    if (f.clientSecret !== '' || hasOverrides(f)) throw new Error('oauth.client_id: required with the other OAuth fields');
    return undefined;
  }
  const out: OAuthInput = { client_id: clientId };
  if (f.removeSecret) out.client_secret = null;
  else if (f.clientSecret !== '') out.client_secret = f.clientSecret;
  if (f.authorizationUrl.trim()) out.authorization_url = checkUrl('authorization_url', f.authorizationUrl);
  if (f.tokenUrl.trim()) out.token_url = checkUrl('token_url', f.tokenUrl);
  const scopes = parseScopes(f.scopes);
  if (scopes.length) out.scopes = scopes;
  const hosts = parseHosts(f.tokenHosts);
  if (hosts.length) out.token_hosts = hosts;
  return out;
}

/** The host (`name` or `name:port`) of a URL, or null when it is not one. */
export function hostOf(url: string): string | null {
  try {
    const u = new URL(url.trim());
    return /^https?:$/.test(u.protocol) && u.host ? u.host : null;
  } catch {
    return null;
  }
}

/**
 * The hosts an OAuth client needs granted besides the connector's own: the token URL's (weft
 * asks for tokens under the connection's grants) and those the token is sent to.
 */
export function oauthWantedHosts(spec: OAuth2Spec | undefined, f: OAuthFields): string[] {
  if (!spec || f.remove || !f.clientId.trim()) return [];
  const out: string[] = [];
  const token = hostOf(f.tokenUrl.trim() || spec.token_url);
  if (token) out.push(token);
  const hosts = parseHosts(f.tokenHosts);
  for (const h of hosts.length ? hosts : spec.hosts) if (!out.includes(h)) out.push(h);
  return out;
}

// ---- authorizing from the page ---------------------------------------------------------------------

/** How long the page waits for a sign-in started from it. */
export const AUTHORIZE_WAIT_MS = 10 * 60_000;

/** A sign-in started from the page: when, and the status it replaces. */
export interface AwaitedSignIn {
  started_ms: number;
  status: OAuthStatus | null;
  status_ms: number | null;
}

export function awaitSignIn(o: OAuthView | null | undefined, now: number = Date.now()): AwaitedSignIn {
  return { started_ms: now, status: o?.status ?? null, status_ms: o?.status_ms ?? null };
}

/**
 * How a sign-in started from the page stands, from the connection as read afterwards:
 * `waiting` (its callback has not come), `authorized` (a new authorization), `unfinished` (the
 * callback came without one: refused, or a stale link) or `timed_out`.
 */
export function signInOutcome(o: OAuthView | null | undefined, awaited: AwaitedSignIn, now: number = Date.now()): 'waiting' | 'authorized' | 'unfinished' | 'timed_out' {
  if (!o) return 'unfinished';
  if (o.pending) return now - awaited.started_ms > AUTHORIZE_WAIT_MS ? 'timed_out' : 'waiting';
  const fresh = awaited.status !== 'authorized' || o.status_ms !== awaited.status_ms;
  return o.status === 'authorized' && fresh ? 'authorized' : 'unfinished';
}

/**
 * Open the application's sign-in page in a new tab; when the browser blocks the tab, go there
 * in this one. (Not `noopener`: with it `window.open` returns null even when the tab opened, so
 * a blocked tab could not be told apart. The new tab's link back to this page is cut instead.)
 */
export function openSignIn(url: string, win: Pick<Window, 'open' | 'location'>): 'tab' | 'here' {
  const tab = win.open(url, '_blank');
  if (tab) {
    try {
      tab.opener = null;
    } catch {
      // the tab already left for the application: nothing to cut
    }
    return 'tab';
  }
  win.location.assign(url);
  return 'here';
}
