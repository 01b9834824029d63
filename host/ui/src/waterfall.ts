// A run's step records as the rows of a waterfall timeline: nesting from the step paths
// (`check.then.done` under `check`, `each[3].clean` under item 3 of loop `each`), order by
// `seq`, and each bar's offset and width in percent of the run's span; a retried step's
// attempts as separate segments, with the back-off between them. Pure, unit-tested.

import type { Run, Step, StepFailure } from './types';

/** One attempt of a step, from its record's `retried` list and its own fields. */
export interface Attempt {
  /** 1 for the first attempt. */
  attempt: number;
  /** When it started; for the last attempt of a retried step an estimate (the end of the back-off). */
  startMs: number;
  /** When it ended; absent while it runs (or the step waits, for a delay). */
  endMs?: number;
  status: Step['status'];
  error?: StepFailure;
  /** A failed attempt that was retried: how long the engine waited before the next one. */
  waitMs?: number;
  /** An earlier attempt that failed and was retried (from `retried`). */
  retried: boolean;
  /** `startMs` is the end of the back-off before it, not a recorded time. */
  estimatedStart?: boolean;
}

export interface StepAttempts {
  /** Oldest first; the last entry is the last attempt (unless the step waits to retry). */
  attempts: Attempt[];
  /** Attempts the record counts but does not describe (before the first one listed). */
  unrecorded: number;
  /** The step waits to retry: the next attempt's number and when it is due. */
  next?: { attempt: number; atMs: number };
}

/**
 * A step record's attempts. The record's `retried` lists the failed, retried ones; its own
 * `status`/`error`/`attempts` describe the last one, except while it waits to retry: then the
 * last `retried` entry is the attempt that just failed and the next is due at `wake_ms`.
 */
export function stepAttempts(step: Step): StepAttempts {
  const retried = [...(step.retried ?? [])].sort((a, b) => a.attempt - b.attempt);
  const attempts: Attempt[] = retried.map((r): Attempt => ({
    attempt: r.attempt,
    startMs: r.started_ms,
    endMs: r.ended_ms,
    status: 'failed',
    error: r.error,
    waitMs: r.wait_ms,
    retried: true,
  }));
  const lastRetried = retried.at(-1);
  let next: StepAttempts['next'];
  if (isWaitingToRetry(step)) {
    if (!lastRetried || lastRetried.attempt < step.attempts) {
      // A record without the attempt that just failed in `retried` (an older server).
      const endMs = step.ended_ms;
      attempts.push({
        attempt: step.attempts,
        startMs: lastRetried ? lastRetried.ended_ms + lastRetried.wait_ms : step.started_ms,
        ...(lastRetried ? { estimatedStart: true } : {}),
        endMs,
        status: 'failed',
        error: step.error,
        waitMs: endMs !== undefined && step.wake_ms !== undefined ? Math.max(0, step.wake_ms - endMs) : undefined,
        retried: true,
      });
    }
    const last = attempts[attempts.length - 1];
    next = { attempt: last.attempt + 1, atMs: step.wake_ms! };
  } else {
    const number = lastRetried ? Math.max(step.attempts, lastRetried.attempt + 1) : Math.max(step.attempts, 1);
    let startMs = lastRetried ? Math.max(lastRetried.ended_ms + lastRetried.wait_ms, lastRetried.ended_ms) : step.started_ms;
    if (step.ended_ms !== undefined) startMs = Math.min(startMs, step.ended_ms);
    attempts.push({ attempt: number, startMs, endMs: step.ended_ms, status: step.status, error: step.error, retried: false, ...(lastRetried ? { estimatedStart: true } : {}) });
  }
  return { attempts, unrecorded: Math.max(0, attempts[0].attempt - 1), next };
}

/**
 * The step waits to retry (rather than for a delay): it waits until `wake_ms` after a failed
 * attempt.
 */
export function isWaitingToRetry(step: Step): boolean {
  if (step.status !== 'waiting' || step.wake_ms === undefined) return false;
  const last = step.retried?.at(-1);
  return last ? last.attempt >= step.attempts : step.error !== undefined;
}

/** A piece of a retried step's bar: a failed attempt, the back-off after it, or the last attempt. */
export interface BarSegment {
  kind: 'failed' | 'wait' | 'last';
  /** The attempt (for a wait: the attempt it follows). */
  attempt: number;
  status: Step['status'];
  startMs: number;
  endMs: number;
  /** Still going: the last attempt running, or the wait before the next one. */
  open: boolean;
  offsetPct: number;
  widthPct: number;
}

export interface WaterfallRow {
  /** The record's path, or for a loop item's group row `each[3]`. */
  path: string;
  /** The record; absent for group rows (loop items, or a parent without a record). */
  step?: Step;
  /** Group rows: a loop item (`item`) or a missing parent record (`parent`). */
  group?: 'item' | 'parent';
  depth: number;
  /** What the row shows: the step id, or `item 3`. */
  label: string;
  /** How the row hangs off its parent: `then`, `else`, `default`, `on error`, a case key. */
  branch?: string;
  status: Step['status'];
  startMs: number;
  /** The end, or `now` while the step runs or waits. */
  endMs: number;
  /** True while the step has no `ended_ms`. */
  open: boolean;
  offsetPct: number;
  widthPct: number;
  /**
   * A step with failed, retried attempts: each attempt as its own segment, with the back-off
   * waits between them (oldest first). Absent for steps with a single attempt.
   */
  segments?: BarSegment[];
}

/** The thinnest bar, so a 0 ms step is still seen. */
export const MIN_WIDTH_PCT = 0.5;

const BRANCH_WORDS: Record<string, string> = {
  then: 'then',
  else: 'else',
  default: 'default',
  on_error: 'on error',
};

interface Parent {
  parent: string | null;
  /** The parent is a loop item (`each[3]`), not a record. */
  item?: boolean;
  branch?: string;
}

/**
 * The parent of a path. `each[3]` → `each` (an item of the loop); `each[3].clean` → `each[3]`;
 * `check.then.done` → `check` (then); `sw.cases.a.y` → `sw` (case `a`);
 * `create.on_error.notify` → `create` (on error); `create` → none.
 */
export function parentOf(path: string): Parent {
  const item = /^(.*)\[(\d+)\]$/.exec(path);
  if (item) return { parent: item[1], branch: `item ${item[2]}` };
  const dot = path.lastIndexOf('.');
  if (dot < 0) return { parent: null };
  const container = path.slice(0, dot);
  if (container.endsWith(']')) return { parent: container, item: true };
  for (const [word, label] of Object.entries(BRANCH_WORDS)) {
    if (container.endsWith(`.${word}`)) return { parent: container.slice(0, -word.length - 1), branch: label };
  }
  const cases = container.lastIndexOf('.cases.');
  if (cases >= 0) return { parent: container.slice(0, cases), branch: container.slice(cases + '.cases.'.length) };
  return { parent: container };
}

interface TreeNode {
  path: string;
  step?: Step;
  group?: 'item' | 'parent';
  branch?: string;
  children: TreeNode[];
  /** Sort key: the record's seq, or the smallest seq below a group. */
  order: number;
  /** The loop item index, for ordering item groups. */
  index?: number;
}

const STATUS_RANK: Record<Step['status'], number> = { succeeded: 0, waiting: 1, running: 2, failed: 3 };

export function waterfallRows(run: Pick<Run, 'created_ms' | 'updated_ms' | 'status'>, steps: Step[], now: number): WaterfallRow[] {
  const final = run.status === 'succeeded' || run.status === 'failed' || run.status === 'cancelled';
  const openEnd = final ? Math.max(run.updated_ms, 0) : now;

  // Build the tree; parents without a record become group rows.
  const byPath = new Map<string, TreeNode>();
  const roots: TreeNode[] = [];
  for (const step of steps) {
    const existing = byPath.get(step.path);
    if (existing && existing.step && existing.step.seq > step.seq) continue; // keep the latest write
    if (existing) {
      existing.step = step;
      existing.group = undefined;
      existing.order = step.seq;
    } else {
      byPath.set(step.path, { path: step.path, step, children: [], order: step.seq });
    }
  }
  const attach = (node: TreeNode) => {
    const p = parentOf(node.path);
    if (p.branch !== undefined) node.branch = p.branch;
    if (p.parent === null) {
      roots.push(node);
      return;
    }
    let parent = byPath.get(p.parent);
    if (!parent) {
      const item = /\[(\d+)\]$/.exec(p.parent);
      parent = {
        path: p.parent,
        group: item ? 'item' : 'parent',
        index: item ? Number(item[1]) : undefined,
        children: [],
        order: Number.POSITIVE_INFINITY,
      };
      byPath.set(p.parent, parent);
      attach(parent);
    }
    parent.children.push(node);
  };
  for (const node of [...byPath.values()]) attach(node);

  // Groups take the span, order and worst status of what is below them.
  const summaries = new Map<TreeNode, { order: number; start: number; end: number; open: boolean; status: Step['status'] }>();
  const summarize = (node: TreeNode): { order: number; start: number; end: number; open: boolean; status: Step['status'] } => {
    let order = node.order;
    let start = node.step ? node.step.started_ms : Number.POSITIVE_INFINITY;
    let end = node.step ? stepEnd(node.step, openEnd) : Number.NEGATIVE_INFINITY;
    // A step waiting to retry has the failed attempt's end but goes on.
    let open = node.step ? node.step.ended_ms === undefined || node.step.status === 'waiting' : false;
    let status: Step['status'] = node.step ? node.step.status : 'succeeded';
    for (const child of node.children) {
      const s = summarize(child);
      order = Math.min(order, s.order);
      if (!node.step) {
        start = Math.min(start, s.start);
        end = Math.max(end, s.end);
        open = open || s.open;
        if (STATUS_RANK[s.status] > STATUS_RANK[status]) status = s.status;
      }
    }
    node.order = order;
    summaries.set(node, { order, start, end, open, status });
    return { order, start, end, open, status };
  };
  for (const r of roots) summarize(r);

  // The run's span: from its creation (or its first step) to its end (or now).
  let spanStart = run.created_ms;
  let spanEnd = final ? run.updated_ms : now;
  for (const s of summaries.values()) {
    if (Number.isFinite(s.start)) spanStart = Math.min(spanStart, s.start);
    if (Number.isFinite(s.end)) spanEnd = Math.max(spanEnd, s.end);
  }
  const span = Math.max(spanEnd - spanStart, 1);

  const sortChildren = (list: TreeNode[]) =>
    list.sort((a, b) => {
      if (a.group === 'item' && b.group === 'item' && a.index !== undefined && b.index !== undefined) return a.index - b.index;
      return a.order - b.order;
    });

  const place = (start: number, end: number, minWidth = MIN_WIDTH_PCT) => {
    const offsetPct = Math.min(100, Math.max(0, ((start - spanStart) / span) * 100));
    const widthPct = Math.min(100 - offsetPct, Math.max(minWidth, ((end - start) / span) * 100));
    return { offsetPct, widthPct };
  };

  const rows: WaterfallRow[] = [];
  const emit = (node: TreeNode, depth: number) => {
    const s = summaries.get(node)!;
    const start = Number.isFinite(s.start) ? s.start : spanStart;
    const end = Number.isFinite(s.end) ? Math.max(s.end, start) : start;
    const { offsetPct, widthPct } = place(start, end);
    let label: string;
    if (node.step) label = node.step.step_id;
    else if (node.group === 'item') label = `item ${node.index}`;
    else label = node.path.slice(node.path.lastIndexOf('.') + 1);
    rows.push({
      path: node.path,
      step: node.step,
      group: node.step ? undefined : node.group,
      depth,
      label,
      branch: node.group === 'item' ? undefined : node.branch,
      status: s.status,
      startMs: start,
      endMs: end,
      open: s.open,
      offsetPct,
      widthPct,
      ...(node.step ? { segments: barSegments(node.step, start, end, s.open, place) } : {}),
    });
    for (const child of sortChildren(node.children)) emit(child, depth + 1);
  };
  for (const r of sortChildren(roots)) emit(r, 0);
  return rows;
}

/** Where a step's bar ends: its `ended_ms`, or `openEnd` while it runs or waits. */
function stepEnd(step: Step, openEnd: number): number {
  if (step.ended_ms === undefined) return openEnd;
  // Waiting to retry: the record keeps the failed attempt's end while the step goes on.
  return step.status === 'waiting' ? Math.max(step.ended_ms, openEnd) : step.ended_ms;
}

/** A retried step's bar as segments: each attempt, and the back-off wait after each failed one. */
function barSegments(
  step: Step,
  rowStart: number,
  rowEnd: number,
  rowOpen: boolean,
  place: (start: number, end: number, minWidth?: number) => { offsetPct: number; widthPct: number },
): BarSegment[] | undefined {
  if (!step.retried?.length && !isWaitingToRetry(step)) return undefined;
  const { attempts } = stepAttempts(step);
  const clamp = (ms: number) => Math.min(rowEnd, Math.max(rowStart, ms));
  const out: BarSegment[] = [];
  attempts.forEach((a, i) => {
    const start = clamp(a.startMs);
    const end = clamp(a.endMs ?? rowEnd);
    if (a.retried) {
      out.push({ kind: 'failed', attempt: a.attempt, status: 'failed', startMs: start, endMs: end, open: false, ...place(start, end) });
      // The back-off: until the next attempt started, or (waiting to retry) until now.
      const following = attempts[i + 1];
      const waitEnd = following ? clamp(following.startMs) : clamp(end + (a.waitMs ?? 0));
      const open = !following && rowOpen;
      const until = open ? rowEnd : waitEnd;
      if (until > end || open) {
        out.push({ kind: 'wait', attempt: a.attempt, status: 'waiting', startMs: end, endMs: until, open, ...place(end, until, 0) });
      }
    } else {
      out.push({ kind: 'last', attempt: a.attempt, status: a.status, startMs: start, endMs: end, open: a.endMs === undefined && rowOpen, ...place(start, end) });
    }
  });
  return out;
}

/** The step to show first for a failed run: the last failed record (by seq). */
export function failedStep(steps: Step[]): Step | undefined {
  let out: Step | undefined;
  for (const s of steps) if (s.status === 'failed' && (!out || s.seq > out.seq)) out = s;
  return out;
}
