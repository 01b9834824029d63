// Formatting of times, durations and ids. Pure, so it is unit-tested.

/** "just now", "42 s ago", "3 min ago", "2 h ago", "5 d ago"; future times "in 3 min". */
export function relativeTime(ms: number, now: number = Date.now()): string {
  const diff = now - ms;
  const future = diff < 0;
  const s = Math.abs(diff) / 1000;
  let text: string;
  if (s < 5) return 'just now';
  if (s < 60) text = `${Math.floor(s)} s`;
  else if (s < 3600) text = `${Math.floor(s / 60)} min`;
  else if (s < 86400) text = `${Math.floor(s / 3600)} h`;
  else if (s < 86400 * 60) text = `${Math.floor(s / 86400)} d`;
  else if (s < 86400 * 365 * 2) text = `${Math.floor(s / (86400 * 30))} mo`;
  else text = `${Math.floor(s / (86400 * 365))} y`;
  return future ? `in ${text}` : `${text} ago`;
}

/** "850 ms", "4.2 s", "3 min 05 s", "2 h 10 min", "3 d 4 h". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.floor(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** A wait or a short span with a tenth of a second: "850 ms", "12.3 s", longer ones as `duration`. */
export function seconds(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(Math.round(ms / 100) / 10).toFixed(1)} s`;
  return duration(ms);
}

/** A local time of day, 14:03:07 (with `absoluteTime` as its tooltip). */
export function clockTime(ms: number): string {
  return absoluteTime(ms).slice(11);
}

/** What each step error kind means, for the kind badge's tooltip. */
export const ERROR_KIND_TEXT: Record<string, string> = {
  'invalid-input': 'the plugin refused its input',
  auth: "the connection's credentials were refused",
  'rate-limited': 'the service asked to slow down',
  transient: 'a temporary failure: another attempt may succeed',
  fatal: 'a failure that another attempt will not fix',
  limit: 'the plugin ran into a sandbox limit and was stopped',
  trap: 'the plugin crashed (a WebAssembly trap)',
  'bad-output': 'the plugin returned output that breaks its contract',
  capacity: 'no room to run the plugin at that moment',
  'wrong-world': 'the plugin is not of the kind (connector or transform) the step needs',
  'input-mapping': "the step's input mapping could not be rendered",
  'sub-flow': 'the sub-flow this step called failed, or could not start',
};

/** The tooltip of an error kind badge. */
export function errorKindText(kind: string): string {
  const text = Object.prototype.hasOwnProperty.call(ERROR_KIND_TEXT, kind) ? ERROR_KIND_TEXT[kind] : undefined;
  return text ? `${kind}: ${text}` : `error kind ${kind}`;
}

/** An absolute local time, for tooltips: 2024-05-01 14:03:07. */
export function absoluteTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A run id shortened for tables (the tail is what differs between time-ordered ids). */
export function shortId(id: string): string {
  return id.length > 12 ? `…${id.slice(-10)}` : id;
}

/** The first line of a message, cut at `max` characters. */
export function firstLine(text: string | undefined, max = 120): string {
  if (!text) return '';
  const line = text.split('\n', 1)[0];
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Time ranges of the runs list, as `since_ms` offsets. */
export const RANGES: Record<string, { label: string; ms: number | null }> = {
  '1h': { label: 'Last hour', ms: 3600_000 },
  '24h': { label: 'Last 24 h', ms: 86400_000 },
  '7d': { label: 'Last 7 days', ms: 7 * 86400_000 },
  all: { label: 'All time', ms: null },
};

export function sinceFor(range: string, now: number = Date.now()): number | undefined {
  const r = RANGES[range];
  return r && r.ms !== null ? now - r.ms : undefined;
}
