// One shared EventSource on /api/events for every page that listens. EventSource reconnects by
// itself after a dropped connection. Each time the stream opens (the first time too: changes
// made while it was connecting are not in it), and on each `lagged` event (the server's word
// that this client fell behind), listeners are told (onReconnect) so they read again what
// they show. A non-200 answer (e.g. the session expired) closes
// the source for good: then we ask the session endpoint and, if still signed in, open it again.

import { useEffect, useRef } from 'react';
import { restoreSession } from './api';
import type { RunEvent, StepEvent } from './types';

export interface Listener {
  onRun?: (event: RunEvent) => void;
  onStep?: (event: StepEvent) => void;
  onReconnect?: () => void;
}

const listeners = new Set<Listener>();
let source: EventSource | null = null;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let onSignedOut: (() => void) | null = null;

export function setEventsSignedOutHandler(handler: (() => void) | null): void {
  onSignedOut = handler;
}

function parse<T>(data: string): T | null {
  try {
    return JSON.parse(data) as T;
  } catch {
    return null;
  }
}

function open(): void {
  if (source || typeof EventSource === 'undefined') return;
  const es = new EventSource('/api/events', { withCredentials: true });
  source = es;
  es.addEventListener('open', () => listeners.forEach((l) => l.onReconnect?.()));
  es.addEventListener('run', (e) => {
    const event = parse<RunEvent>((e as MessageEvent<string>).data);
    if (event) listeners.forEach((l) => l.onRun?.(event));
  });
  es.addEventListener('step', (e) => {
    const event = parse<StepEvent>((e as MessageEvent<string>).data);
    if (event) listeners.forEach((l) => l.onStep?.(event));
  });
  // The server says this client fell behind and missed changes: read everything again.
  es.addEventListener('lagged', () => listeners.forEach((l) => l.onReconnect?.()));
  es.addEventListener('error', () => {
    if (es.readyState !== EventSource.CLOSED) return; // the browser retries by itself
    es.close();
    if (source === es) source = null;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      if (listeners.size === 0) return;
      restoreSession()
        .then((signedIn) => {
          if (!signedIn) {
            onSignedOut?.();
            return;
          }
          if (listeners.size > 0 && !source) open();
        })
        .catch(() => {
          // Server unreachable: try again later.
          if (listeners.size > 0 && !source && !retryTimer) retryTimer = setTimeout(() => open(), 5000);
        });
    }, 3000);
  });
}

function close(): void {
  if (retryTimer) {
    clearTimeout(retryTimer);
    retryTimer = null;
  }
  source?.close();
  source = null;
}

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  open();
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) close();
  };
}

/** Close the stream at sign-out. */
export function closeEvents(): void {
  listeners.clear();
  close();
}

/** Listen to server events while `enabled`; the latest callbacks are always used. */
export function useServerEvents(listener: Listener, enabled = true): void {
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => {
    if (!enabled) return;
    return subscribe({
      onRun: (e) => ref.current.onRun?.(e),
      onStep: (e) => ref.current.onStep?.(e),
      onReconnect: () => ref.current.onReconnect?.(),
    });
  }, [enabled]);
}
