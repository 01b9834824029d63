// The OAuth 2.0 authorization server of the OAuth tests: the real npm package
// oauth2-mock-server (installed by `cargo xtask test`, which names the folder
// holding its node_modules in WEFT_OAUTH_SERVER_DIR) on 127.0.0.1.
//
//   node tests/oauth/server.mjs [port]
//
// The first stdout line is `{"listening":PORT}`; then one JSON line per event:
//   {"event":"token","grant_type","status","error","access_token","refresh_token",
//    "scope","client_id","client_auth":"basic"|"body"|null,"client_secret","code_verifier_present"}
//   {"event":"authorize","state","code_challenge_method","redirect_uri","denied"}
//   {"event":"flush","id"}  (answering POST /__weft/flush?id=N: every earlier event is out)
// `error` is the OAuth error code, or the mock's own problem detail for a
// request it refuses itself (a PKCE mismatch, an unknown grant type); tokens
// are given only when issued. The server exits when its stdin closes.
//
// The mock's behaviour is kept (any client and secret are accepted; PKCE is
// checked at /token when both the code's challenge and a verifier are
// present) and extended only through the package's own hooks:
// - beforeTokenSigning: every token gets a unique `jti`, and `exp` = iat + TTL
//   (3600 s unless set);
// - beforeResponse: `expires_in` = TTL, and refresh tokens rotate: each is
//   good for one refresh_token grant; an unknown, used or revoked one gets
//   400 {"error":"invalid_grant"};
// - beforeAuthorizeRedirect: the authorize events, denials, and the codes issued,
//   which beforeResponse then takes once and within their lifetime (invalid_grant otherwise);
// - custom routes (addRoute), each answering JSON:
//   POST /__weft/ttl?seconds=N     TTL of the tokens issued from now on;
//   POST /__weft/revoke            every refresh token issued so far is revoked;
//   POST /__weft/deny-next         the next /authorize redirects with
//                                  error=access_denied instead of a code;
//   POST /__weft/slow-token?ms=N   hold every /token answer back N ms (0: no delay);
//   POST /__weft/code-ttl?ms=N     authorization codes expire N ms after they are issued (600 s);
//   POST /__weft/flush?id=N        print {"event":"flush","id":N}.
// Token answers are observed (and held back) through Node's built-in
// `http.server.request.start` diagnostics channel, which also sees the
// answers the mock sends without raising a hook.

import { randomUUID } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { pathToFileURL } from 'node:url';

const dir = process.env.WEFT_OAUTH_SERVER_DIR;
if (!dir) {
  console.error('WEFT_OAUTH_SERVER_DIR is not set: run the tests with `cargo xtask test`');
  process.exit(2);
}
const { OAuth2Server } = await import(
  pathToFileURL(`${dir}/node_modules/oauth2-mock-server/dist/index.mjs`).href
);

const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
process.stdout.on('error', () => process.exit(0));
process.stdin.on('end', () => process.exit(0)).resume();

let ttl = 3600;
let slowMs = 0;
let denyNext = false;
/** Every refresh token issued: 'valid', 'used' or 'revoked'. */
const refreshTokens = new Map();

const server = new OAuth2Server();
const { service } = server;
await server.issuer.keys.generate('RS256');

service.on('beforeTokenSigning', ({ payload }) => {
  payload.jti = randomUUID();
  payload.exp = payload.iat + ttl;
});

const refusals = {
  used: 'The refresh token was already used',
  revoked: 'The refresh token was revoked',
};

/** Codes handed out at /authorize: when, and whether they were exchanged. */
const codes = new Map();
let codeTtlMs = 600_000;

service.on('beforeResponse', (response, req) => {
  if (req.body.grant_type === 'authorization_code') {
    // Codes are single-use and short-lived, as RFC 6749 §4.1.2 asks (the mock takes any code).
    const code = codes.get(req.body.code);
    const why = !code
      ? 'The authorization code is unknown'
      : code.used
        ? 'The authorization code was already used'
        : Date.now() - code.at > codeTtlMs
          ? 'The authorization code expired'
          : null;
    if (code) code.used = true;
    if (why) {
      response.statusCode = 400;
      response.body = { error: 'invalid_grant', error_description: why };
      return;
    }
  }
  if (req.body.grant_type === 'refresh_token') {
    const presented = req.body.refresh_token;
    const state = refreshTokens.get(presented);
    if (state !== 'valid') {
      response.statusCode = 400;
      response.body = { error: 'invalid_grant', error_description: refusals[state] ?? 'Unknown refresh token' };
      return;
    }
    refreshTokens.set(presented, 'used');
  }
  response.body.expires_in = ttl;
  if (response.body.refresh_token) refreshTokens.set(response.body.refresh_token, 'valid');
});

service.on('beforeAuthorizeRedirect', ({ url }, req) => {
  const denied = denyNext;
  if (denied) {
    denyNext = false;
    url.searchParams.delete('code');
    url.searchParams.set('error', 'access_denied');
    url.searchParams.set('error_description', 'The user denied access');
  }
  const issued = url.searchParams.get('code');
  if (issued) codes.set(issued, { at: Date.now(), used: false });
  const { state, code_challenge_method, redirect_uri } = req.query;
  emit({
    event: 'authorize',
    state: state ?? null,
    code_challenge_method: code_challenge_method ?? null,
    redirect_uri,
    denied,
  });
});

/** The client's id and secret, from HTTP Basic authentication (RFC 6749 §2.3.1) or the form. */
function client(req, form) {
  const [scheme, encoded] = (req.headers.authorization ?? '').split(' ');
  if (scheme?.toLowerCase() === 'basic' && encoded) {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const part = (s) => {
      try {
        return decodeURIComponent(s.replace(/\+/g, ' '));
      } catch {
        return s;
      }
    };
    if (colon >= 0) {
      return { auth: 'basic', id: part(decoded.slice(0, colon)), secret: part(decoded.slice(colon + 1)) };
    }
  }
  if (form.client_id !== undefined) {
    return { auth: 'body', id: form.client_id, secret: form.client_secret ?? null };
  }
  return { auth: null, id: null, secret: null };
}

function tokenEvent(req, status, sent) {
  const form = req.body ?? {};
  let answer = {};
  try {
    answer = JSON.parse(String(sent));
  } catch {}
  const issued = status === 200;
  const { auth, id, secret } = client(req, form);
  return {
    event: 'token',
    grant_type: form.grant_type ?? null,
    status,
    error: issued ? null : (answer.error ?? answer.detail ?? null),
    access_token: issued ? (answer.access_token ?? null) : null,
    refresh_token: issued ? (answer.refresh_token ?? null) : null,
    scope: form.scope ?? null,
    client_id: id,
    client_auth: auth,
    client_secret: secret,
    code_verifier_present: form.code_verifier !== undefined,
  };
}

diagnostics.subscribe('http.server.request.start', ({ request, response }) => {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname.replace(/(.)\/$/, '$1');
  if (request.method !== 'POST' || path !== '/token') return;
  const end = response.end.bind(response);
  response.end = (sent, ...rest) => {
    const send = () => {
      emit(tokenEvent(request, response.statusCode, sent));
      end(sent, ...rest);
    };
    if (slowMs > 0) setTimeout(send, slowMs);
    else send();
    return response;
  };
});

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** A control route taking a whole number `name` ≥ 0 from the query. */
function numberRoute(path, name, apply) {
  service.addRoute('POST', path, (req, res) => {
    const text = req.query[name];
    const n = Number(text);
    if (typeof text !== 'string' || text === '' || !Number.isInteger(n) || n < 0) {
      reply(res, 400, { error: `?${name}= must be a whole number` });
      return;
    }
    apply(n);
    reply(res, 200, { [name]: n });
  });
}

numberRoute('/__weft/ttl', 'seconds', (n) => (ttl = n));
numberRoute('/__weft/code-ttl', 'ms', (n) => (codeTtlMs = n));
numberRoute('/__weft/slow-token', 'ms', (n) => (slowMs = n));
numberRoute('/__weft/flush', 'id', (id) => emit({ event: 'flush', id }));
service.addRoute('POST', '/__weft/revoke', (_req, res) => {
  let revoked = 0;
  for (const [token, state] of refreshTokens) {
    if (state === 'valid') {
      refreshTokens.set(token, 'revoked');
      revoked += 1;
    }
  }
  reply(res, 200, { revoked });
});
service.addRoute('POST', '/__weft/deny-next', (_req, res) => {
  denyNext = true;
  reply(res, 200, { deny_next: true });
});

await server.start(Number(process.argv[2] ?? 0), '127.0.0.1');
emit({ listening: server.address().port });
