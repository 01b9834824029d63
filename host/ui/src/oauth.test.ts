import { describe, expect, it, vi } from 'vitest';
import { absoluteTime } from './format';
import {
  AUTHORIZE_WAIT_MS,
  authorizeLabel,
  awaitSignIn,
  buildOAuth,
  hasOverrides,
  hostOf,
  NO_OAUTH_FIELDS,
  oauthDetail,
  oauthFields,
  oauthPillClass,
  oauthStatusText,
  oauthTooltip,
  oauthWantedHosts,
  openSignIn,
  parseScopes,
  signInOutcome,
} from './oauth';
import type { OAuth2Spec, OAuthView } from './types';

const spec: OAuth2Spec = {
  grant: 'authorization_code',
  authorization_url: 'https://auth.example.com/authorize',
  token_url: 'https://auth.example.com/token',
  scopes: ['items:read', 'items:write'],
  pkce: true,
  hosts: ['api.example.com'],
};

function view(over: Partial<OAuthView> = {}): OAuthView {
  return {
    grant: 'authorization_code',
    client_id: 'weft-app',
    client_secret: true,
    authorization_url: spec.authorization_url,
    token_url: spec.token_url,
    scopes: spec.scopes,
    token_hosts: spec.hosts,
    status: 'not_authorized',
    reason: null,
    status_ms: null,
    expires_ms: null,
    scope: null,
    refreshable: false,
    refreshes: 0,
    refreshed_ms: null,
    pending: false,
    ...over,
  };
}

describe('oauthStatusText', () => {
  it('says nothing, offers, or tells the status', () => {
    expect(oauthStatusText({ oauth: null, oauth_offered: null })).toBe('');
    expect(oauthStatusText({})).toBe('');
    expect(oauthStatusText({ oauth: null, oauth_offered: 'authorization_code' })).toBe('OAuth available');
    expect(oauthStatusText({ oauth: view(), oauth_offered: 'authorization_code' })).toBe('Not authorized');
    expect(oauthStatusText({ oauth: view({ status: 'authorized' }) })).toBe('Authorized');
    expect(oauthStatusText({ oauth: view({ status: 'needs_reauthorization', reason: 'invalid_grant' }) })).toBe('Needs re-authorization');
  });

  it('gives each status its pill and its button', () => {
    expect(oauthPillClass('authorized')).toBe('pill-succeeded');
    expect(oauthPillClass('needs_reauthorization')).toBe('pill-failed');
    expect(oauthPillClass('not_authorized')).toBe('pill-queued');
    expect(authorizeLabel(view())).toBe('Authorize');
    expect(authorizeLabel(view({ status: 'authorized' }))).toBe('Re-authorize');
    expect(authorizeLabel(view({ status: 'needs_reauthorization' }))).toBe('Re-authorize');
  });
});

describe('oauthDetail and oauthTooltip', () => {
  const now = new Date(2025, 4, 1, 12, 0, 0).getTime();

  it('tells how long the token lasts and how often it was refreshed', () => {
    const today = new Date(2025, 4, 1, 13, 5, 0).getTime();
    const tomorrow = new Date(2025, 4, 2, 9, 30, 0).getTime();
    expect(oauthDetail(view({ status: 'authorized', expires_ms: today }), now)).toBe('token until 13:05');
    expect(oauthDetail(view({ status: 'authorized', expires_ms: tomorrow, refreshes: 3 }), now)).toBe('token until 2025-05-02 09:30 · refreshed 3×');
    expect(oauthDetail(view({ status: 'authorized', expires_ms: now - 60_000 }), now)).toBe('token expired 11:59');
    expect(oauthDetail(view({ status: 'authorized' }), now)).toBe('');
    expect(oauthDetail(view({ status: 'not_authorized', expires_ms: today }), now)).toBe('');
  });

  it('puts everything known in the tooltip, never a token', () => {
    const at = now - 3_600_000;
    const text = oauthTooltip(view({ status: 'authorized', status_ms: at, expires_ms: now, scope: 'items:read', refreshable: true, refreshes: 2, refreshed_ms: now - 60_000 }));
    expect(text.split('\n')).toEqual([
      `Authorized since ${absoluteTime(at)}`,
      'Grant: authorization code',
      'Client ID: weft-app (secret stored)',
      `Token until ${absoluteTime(now)}`,
      'Scopes granted: items:read',
      `Refreshed 2×, last ${absoluteTime(now - 60_000)}`,
      'Token sent to: api.example.com',
    ]);
    expect(oauthTooltip(view({ status: 'needs_reauthorization', status_ms: at, reason: 'invalid_grant: revoked' })).split('\n')[0]).toBe(
      `Needs re-authorization since ${absoluteTime(at)}: invalid_grant: revoked`,
    );
    expect(oauthTooltip(view({ status: 'authorized' }))).toContain('No refresh token: authorize again when the token expires');
    expect(oauthTooltip(view({ status: 'authorized', grant: 'client_credentials' }))).not.toContain('No refresh token');
    expect(oauthTooltip(view({ pending: true }))).toContain('A sign-in was started');
  });
});

describe('oauthFields', () => {
  it('is empty without a stored client', () => {
    expect(oauthFields(null, spec)).toEqual(NO_OAUTH_FIELDS);
  });

  it("leaves what equals the connector's defaults empty and shows the overrides", () => {
    expect(oauthFields(view(), spec)).toEqual({ ...NO_OAUTH_FIELDS, clientId: 'weft-app' });
    const f = oauthFields(view({ token_url: 'http://127.0.0.1:9/token', scopes: ['a', 'b'], token_hosts: ['127.0.0.1:1', 'x.test'] }), spec);
    expect(f).toEqual({ ...NO_OAUTH_FIELDS, clientId: 'weft-app', tokenUrl: 'http://127.0.0.1:9/token', scopes: 'a b', tokenHosts: '127.0.0.1:1\nx.test' });
    expect(hasOverrides(f)).toBe(true);
    expect(hasOverrides(NO_OAUTH_FIELDS)).toBe(false);
  });

  it('shows every value when the connector is not known', () => {
    const f = oauthFields(view(), undefined);
    expect(f.authorizationUrl).toBe(spec.authorization_url);
    expect(f.tokenHosts).toBe('api.example.com');
  });
});

describe('buildOAuth', () => {
  const fields = { ...NO_OAUTH_FIELDS, clientId: ' weft-app ' };

  it('sends a client only when a client id was entered', () => {
    expect(buildOAuth(NO_OAUTH_FIELDS, false)).toBeUndefined();
    expect(buildOAuth(fields, false)).toEqual({ client_id: 'weft-app' });
    expect(() => buildOAuth({ ...NO_OAUTH_FIELDS, clientSecret: 's' }, false)).toThrow('oauth.client_id: required with the other OAuth fields');
    expect(() => buildOAuth({ ...NO_OAUTH_FIELDS, scopes: 'a' }, false)).toThrow('oauth.client_id');
    expect(() => buildOAuth(NO_OAUTH_FIELDS, true)).toThrow('oauth.client_id: required');
  });

  it('keeps, sets or removes the secret', () => {
    expect(buildOAuth(fields, true)).toEqual({ client_id: 'weft-app' });
    expect(buildOAuth({ ...fields, clientSecret: ' s3cret ' }, true)).toEqual({ client_id: 'weft-app', client_secret: ' s3cret ' });
    expect(buildOAuth({ ...fields, clientSecret: 'ignored', removeSecret: true }, true)).toEqual({ client_id: 'weft-app', client_secret: null });
  });

  it('removes the client, or sends nothing when there was none', () => {
    expect(buildOAuth({ ...fields, remove: true }, true)).toBeNull();
    expect(buildOAuth({ ...fields, remove: true }, false)).toBeUndefined();
  });

  it('sends the overrides typed, and names a bad one', () => {
    const out = buildOAuth(
      { ...fields, authorizationUrl: ' http://127.0.0.1:9/authorize ', tokenUrl: 'https://login.test/token', scopes: ' read  write\nadmin ', tokenHosts: 'api.test, *.api.test\n127.0.0.1:1' },
      false,
    );
    expect(out).toEqual({
      client_id: 'weft-app',
      authorization_url: 'http://127.0.0.1:9/authorize',
      token_url: 'https://login.test/token',
      scopes: ['read', 'write', 'admin'],
      token_hosts: ['api.test', '*.api.test', '127.0.0.1:1'],
    });
    expect(() => buildOAuth({ ...fields, tokenUrl: 'ftp://x/token' }, false)).toThrow('oauth.token_url: "ftp://x/token" is not an http(s) URL');
    expect(() => buildOAuth({ ...fields, authorizationUrl: 'login.test' }, false)).toThrow('oauth.authorization_url');
    expect(parseScopes('a,b c')).toEqual(['a,b', 'c']);
  });
});

describe('oauthWantedHosts', () => {
  it("names the token URL's host and the token's hosts once a client id is entered", () => {
    expect(oauthWantedHosts(spec, NO_OAUTH_FIELDS)).toEqual([]);
    expect(oauthWantedHosts(undefined, { ...NO_OAUTH_FIELDS, clientId: 'x' })).toEqual([]);
    expect(oauthWantedHosts(spec, { ...NO_OAUTH_FIELDS, clientId: 'x' })).toEqual(['auth.example.com', 'api.example.com']);
    expect(oauthWantedHosts(spec, { ...NO_OAUTH_FIELDS, clientId: 'x', tokenUrl: 'http://127.0.0.1:4000/token', tokenHosts: '127.0.0.1:1' })).toEqual(['127.0.0.1:4000', '127.0.0.1:1']);
    expect(oauthWantedHosts(spec, { ...NO_OAUTH_FIELDS, clientId: 'x', remove: true })).toEqual([]);
    expect(hostOf('not a url')).toBeNull();
    expect(hostOf('mailto:a@b.c')).toBeNull();
  });
});

describe('signInOutcome', () => {
  const t0 = 1_000_000;

  it('waits while the sign-in is pending, up to the limit', () => {
    const awaited = awaitSignIn(view(), t0);
    expect(awaited).toEqual({ started_ms: t0, status: 'not_authorized', status_ms: null });
    expect(signInOutcome(view({ pending: true }), awaited, t0 + 2000)).toBe('waiting');
    expect(signInOutcome(view({ pending: true }), awaited, t0 + AUTHORIZE_WAIT_MS + 1)).toBe('timed_out');
  });

  it('tells a new authorization from a sign-in that came back without one', () => {
    const awaited = awaitSignIn(view(), t0);
    expect(signInOutcome(view({ status: 'authorized', status_ms: t0 + 5 }), awaited, t0 + 10)).toBe('authorized');
    expect(signInOutcome(view(), awaited, t0 + 10)).toBe('unfinished');
    expect(signInOutcome(null, awaited, t0 + 10)).toBe('unfinished');
    // Re-authorizing: the old authorization is no news, a newer one is.
    const again = awaitSignIn(view({ status: 'authorized', status_ms: 5 }), t0);
    expect(signInOutcome(view({ status: 'authorized', status_ms: 5 }), again, t0 + 10)).toBe('unfinished');
    expect(signInOutcome(view({ status: 'authorized', status_ms: t0 + 7 }), again, t0 + 10)).toBe('authorized');
  });
});

describe('openSignIn', () => {
  it('opens a new tab and cuts its link back to the page', () => {
    const tab = { opener: {} as unknown };
    const win = { open: vi.fn(() => tab), location: { assign: vi.fn() } };
    expect(openSignIn('https://auth.example.com/authorize?state=x', win as never)).toBe('tab');
    expect(win.open).toHaveBeenCalledWith('https://auth.example.com/authorize?state=x', '_blank');
    expect(tab.opener).toBeNull();
    expect(win.location.assign).not.toHaveBeenCalled();
  });

  it('goes there in this tab when the new one is blocked', () => {
    const win = { open: vi.fn(() => null), location: { assign: vi.fn() } };
    expect(openSignIn('https://auth.example.com/authorize', win as never)).toBe('here');
    expect(win.location.assign).toHaveBeenCalledWith('https://auth.example.com/authorize');
  });
});
