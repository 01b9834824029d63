import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, listRuns, setCsrf, setUnauthorizedHandler, signIn, startRun, uploadPlugin, withQuery } from './api';

interface Call {
  url: string;
  init: RequestInit;
}

function mockFetch(status: number, body: unknown): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    return new Response(text, { status, headers: { 'Content-Type': 'application/json' } });
  });
  return calls;
}

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrf(null);
  setUnauthorizedHandler(null);
});

describe('api client', () => {
  it('keeps the CSRF token from sign-in and sends it on non-GET requests only', async () => {
    let calls = mockFetch(200, { csrf: 'tok123' });
    await signIn('weft_secret');
    expect(calls[0].init.method).toBe('POST');
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ token: 'weft_secret' });
    expect(calls[0].init.credentials).toBe('same-origin');

    calls = mockFetch(202, { run: { id: 'r1' } });
    await startRun('contact-sync', { email: 'a@b' });
    expect((calls[0].init.headers as Record<string, string>)['X-Weft-Csrf']).toBe('tok123');
    expect(calls[0].url).toBe('/api/flows/contact-sync/runs');

    calls = mockFetch(200, []);
    await listRuns({ flow: 'f', status: 'failed', limit: 50 });
    expect((calls[0].init.headers as Record<string, string>)['X-Weft-Csrf']).toBeUndefined();
    expect(calls[0].url).toBe('/api/runs?flow=f&status=failed&limit=50');
  });

  it('throws ApiError with the server message, and reports 401', async () => {
    mockFetch(409, { error: 'plugin "http" is used by flows ["a"]' });
    await expect(listRuns()).rejects.toEqual(new ApiError(409, 'plugin "http" is used by flows ["a"]'));
    let unauthorized = 0;
    setUnauthorizedHandler(() => unauthorized++);
    mockFetch(401, { error: 'sign in' });
    await expect(listRuns()).rejects.toMatchObject({ status: 401, message: 'sign in' });
    expect(unauthorized).toBe(1);
    // a failed sign-in is not a lost session
    mockFetch(401, { error: 'wrong token' });
    await expect(signIn('x')).rejects.toMatchObject({ status: 401, message: 'wrong token' });
    expect(unauthorized).toBe(1);
  });

  it('uploads raw bytes with the transform name', async () => {
    setCsrf('c');
    const calls = mockFetch(400, { error: 'not a component' });
    await expect(uploadPlugin(new Uint8Array([0, 97, 115, 109]).buffer, 'my-t')).rejects.toMatchObject({ status: 400, message: 'not a component' });
    expect(calls[0].url).toBe('/api/plugins?name=my-t');
    expect((calls[0].init.headers as Record<string, string>)['Content-Type']).toBe('application/wasm');
  });

  it('builds query strings, leaving out empty values', () => {
    expect(withQuery('/x', { a: 1, b: '', c: undefined, d: 'x y' })).toBe('/x?a=1&d=x+y');
    expect(withQuery('/x', {})).toBe('/x');
  });
});
