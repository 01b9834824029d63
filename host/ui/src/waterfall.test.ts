import { describe, expect, it } from 'vitest';
import { MIN_WIDTH_PCT, failedStep, isWaitingToRetry, parentOf, stepAttempts, waterfallRows } from './waterfall';
import type { FailedAttempt, Step, StepFailure } from './types';

let seq = 0;
function step(path: string, started: number, ended: number | undefined, extra: Partial<Step> = {}): Step {
  const id = path.slice(path.lastIndexOf('.') + 1).replace(/\[\d+\]$/, '');
  return { path, step_id: id, status: ended === undefined ? 'running' : 'succeeded', attempts: 1, started_ms: started, ended_ms: ended, seq: seq++, ...extra };
}

describe('parentOf', () => {
  it('reads nesting from paths', () => {
    expect(parentOf('create')).toEqual({ parent: null });
    expect(parentOf('check.then.done')).toEqual({ parent: 'check', branch: 'then' });
    expect(parentOf('check.else.x')).toEqual({ parent: 'check', branch: 'else' });
    expect(parentOf('sw.cases.a.y')).toEqual({ parent: 'sw', branch: 'a' });
    expect(parentOf('sw.cases.v1.2.y')).toEqual({ parent: 'sw', branch: 'v1.2' });
    expect(parentOf('sw.default.y')).toEqual({ parent: 'sw', branch: 'default' });
    expect(parentOf('each[3].clean')).toEqual({ parent: 'each[3]', item: true });
    expect(parentOf('each[3]')).toEqual({ parent: 'each', branch: 'item 3' });
    expect(parentOf('create.on_error.notify')).toEqual({ parent: 'create', branch: 'on error' });
    expect(parentOf('outer[1].inner[2].x')).toEqual({ parent: 'outer[1].inner[2]', item: true });
    expect(parentOf('outer[1].inner[2]')).toEqual({ parent: 'outer[1].inner', branch: 'item 2' });
    expect(parentOf('outer[1].inner')).toEqual({ parent: 'outer[1]', item: true });
  });
});

describe('waterfallRows', () => {
  const run = { created_ms: 1000, updated_ms: 2000, status: 'succeeded' as const };

  it('positions bars relative to the run span', () => {
    const rows = waterfallRows(run, [step('a', 1000, 1500), step('b', 1500, 2000)], 99999);
    expect(rows.map((r) => [r.path, r.depth, r.offsetPct, r.widthPct])).toEqual([
      ['a', 0, 0, 50],
      ['b', 0, 50, 50],
    ]);
  });

  it('orders by seq, nests branch steps under their if/switch and gives a thin bar to 0 ms steps', () => {
    const steps = [
      step('check', 1000, 1000, { input: true }),
      step('check.then.done', 1100, 1300),
      step('sw', 1300, 1300),
      step('sw.cases.a.y', 1300, 1400),
      step('last', 1400, 2000),
    ];
    const rows = waterfallRows(run, steps, 0);
    expect(rows.map((r) => `${'  '.repeat(r.depth)}${r.label}${r.branch ? ` (${r.branch})` : ''}`)).toEqual([
      'check',
      '  done (then)',
      'sw',
      '  y (a)',
      'last',
    ]);
    expect(rows[0].widthPct).toBe(MIN_WIDTH_PCT);
  });

  it('groups loop items under their loop, by index, spanning their steps', () => {
    const steps = [
      step('each', 1000, 1900, { input: ['x', 'y'] }),
      // concurrent items interleave in seq order
      step('each[1].clean', 1000, 1500),
      step('each[0].clean', 1000, 1200),
      step('each[0].send', 1200, 1400, { status: 'failed', error: { message: 'boom', retryable: false } }),
      step('each[1].send', 1500, 1900),
    ];
    const rows = waterfallRows(run, steps, 0);
    expect(rows.map((r) => [r.path, r.depth, r.group ?? '', r.label])).toEqual([
      ['each', 0, '', 'each'],
      ['each[0]', 1, 'item', 'item 0'],
      ['each[0].clean', 2, '', 'clean'],
      ['each[0].send', 2, '', 'send'],
      ['each[1]', 1, 'item', 'item 1'],
      ['each[1].clean', 2, '', 'clean'],
      ['each[1].send', 2, '', 'send'],
    ]);
    const item0 = rows[1];
    expect(item0.status).toBe('failed'); // the worst status below it
    expect([item0.startMs, item0.endMs]).toEqual([1000, 1400]);
    expect(item0.offsetPct).toBe(0);
    expect(item0.widthPct).toBe(40);
  });

  it('runs open bars to now while the run is not final', () => {
    const live = { created_ms: 1000, updated_ms: 1200, status: 'running' as const };
    const rows = waterfallRows(live, [step('a', 1000, 1500), step('b', 1500, undefined)], 3000);
    expect(rows[1]).toMatchObject({ open: true, endMs: 3000, offsetPct: 25, widthPct: 75 });
  });

  it('ends open bars at the run end for a final run', () => {
    const ended = { created_ms: 1000, updated_ms: 2000, status: 'cancelled' as const };
    const rows = waterfallRows(ended, [step('a', 1000, undefined, { status: 'waiting' })], 50000);
    expect(rows[0]).toMatchObject({ endMs: 2000, widthPct: 100 });
  });

  it('makes a parent row when a branch step has no parent record', () => {
    const rows = waterfallRows(run, [step('check.else.x', 1000, 2000)], 0);
    expect(rows.map((r) => [r.path, r.depth, r.group])).toEqual([
      ['check', 0, 'parent'],
      ['check.else.x', 1, undefined],
    ]);
  });

  it('nests on_error branches under their step', () => {
    const rows = waterfallRows(run, [step('create', 1000, 1500, { status: 'failed' }), step('create.on_error.notify', 1500, 1600), step('next', 1600, 2000)], 0);
    expect(rows.map((r) => [r.path, r.depth, r.branch])).toEqual([
      ['create', 0, undefined],
      ['create.on_error.notify', 1, 'on error'],
      ['next', 0, undefined],
    ]);
  });

  it('handles 200 records quickly', () => {
    const steps: Step[] = [step('each', 0, 200)];
    for (let i = 0; i < 199; i++) steps.push(step(`each[${i}].x`, i, i + 1));
    const t = performance.now();
    const rows = waterfallRows({ created_ms: 0, updated_ms: 200, status: 'succeeded' }, steps, 0);
    expect(performance.now() - t).toBeLessThan(100);
    expect(rows).toHaveLength(1 + 199 * 2);
  });
});

const transient: StepFailure = { message: 'HTTP 503', retryable: true, kind: 'transient' };
const limited: StepFailure = { message: 'HTTP 429', retryable: true, retry_after_ms: 2000, kind: 'rate-limited' };
function failed(attempt: number, started: number, ended: number, wait: number, error: StepFailure = transient): FailedAttempt {
  return { attempt, started_ms: started, ended_ms: ended, error, wait_ms: wait };
}

describe('stepAttempts', () => {
  it('is one attempt for a step that was not retried', () => {
    const s = step('a', 1000, 1200);
    expect(stepAttempts(s)).toEqual({ attempts: [{ attempt: 1, startMs: 1000, endMs: 1200, status: 'succeeded', error: undefined, retried: false }], unrecorded: 0, next: undefined });
    expect(isWaitingToRetry(s)).toBe(false);
  });

  it('lists the retried attempts, then the last one, which starts after the last back-off', () => {
    const s = step('a', 1000, 1900, { attempts: 3, retried: [failed(1, 1000, 1100, 200), failed(2, 1300, 1400, 300, limited)] });
    const { attempts, next, unrecorded } = stepAttempts(s);
    expect(attempts.map((a) => [a.attempt, a.startMs, a.endMs, a.status, a.error?.kind, a.waitMs, a.retried])).toEqual([
      [1, 1000, 1100, 'failed', 'transient', 200, true],
      [2, 1300, 1400, 'failed', 'rate-limited', 300, true],
      [3, 1700, 1900, 'succeeded', undefined, undefined, false],
    ]);
    expect(attempts[2].estimatedStart).toBe(true);
    expect(attempts[0].estimatedStart).toBeUndefined();
    expect(next).toBeUndefined();
    expect(unrecorded).toBe(0);
  });

  it('says when a step waiting to retry makes its next attempt', () => {
    // The engine records the attempt that just failed in `retried`, with the step waiting.
    const s = step('a', 1000, 1400, { status: 'waiting', attempts: 2, wake_ms: 5000, error: limited, retried: [failed(1, 1000, 1100, 200), failed(2, 1300, 1400, 3600, limited)] });
    expect(isWaitingToRetry(s)).toBe(true);
    const { attempts, next } = stepAttempts(s);
    expect(attempts.map((a) => [a.attempt, a.retried])).toEqual([
      [1, true],
      [2, true],
    ]);
    expect(next).toEqual({ attempt: 3, atMs: 5000 });
  });

  it('tells a delay from a retry, and reads records without `retried`', () => {
    const delay = step('wait', 1000, undefined, { status: 'waiting', wake_ms: 9000 });
    expect(isWaitingToRetry(delay)).toBe(false);
    expect(stepAttempts(delay).attempts).toEqual([{ attempt: 1, startMs: 1000, endMs: undefined, status: 'waiting', error: undefined, retried: false }]);
    const old = step('a', 1000, 1100, { status: 'waiting', wake_ms: 1600, error: transient });
    expect(stepAttempts(old)).toMatchObject({ attempts: [{ attempt: 1, endMs: 1100, status: 'failed', waitMs: 500, retried: true }], next: { attempt: 2, atMs: 1600 } });
    // an input mapping that failed on attempt 4 keeps no `retried`: the earlier three are counted only
    const mapping = step('a', 1000, 1000, { status: 'failed', attempts: 4, error: { message: 'no such field', retryable: false, kind: 'input-mapping' } });
    expect(stepAttempts(mapping)).toMatchObject({ attempts: [{ attempt: 4, status: 'failed' }], unrecorded: 3 });
  });
});

describe('waterfall attempts', () => {
  const run = { created_ms: 1000, updated_ms: 2000, status: 'succeeded' as const };

  it('draws each attempt as a segment, with the back-off as the gap between them', () => {
    const s = step('a', 1000, 2000, { attempts: 3, retried: [failed(1, 1000, 1100, 200), failed(2, 1300, 1400, 400)] });
    const [row] = waterfallRows(run, [s], 0);
    expect([row.offsetPct, row.widthPct]).toEqual([0, 100]);
    expect(row.segments!.map((g) => [g.kind, g.attempt, g.status, g.offsetPct, g.widthPct])).toEqual([
      ['failed', 1, 'failed', 0, 10],
      ['wait', 1, 'waiting', 10, 20],
      ['failed', 2, 'failed', 30, 10],
      ['wait', 2, 'waiting', 40, 40],
      ['last', 3, 'succeeded', 80, 20],
    ]);
  });

  it('gives no segments to a step tried once', () => {
    const [row] = waterfallRows(run, [step('a', 1000, 2000)], 0);
    expect(row.segments).toBeUndefined();
  });

  it('runs the bar of a step waiting to retry to now, its back-off open', () => {
    const live = { created_ms: 1000, updated_ms: 1400, status: 'waiting' as const };
    const s = step('a', 1000, 1400, { status: 'waiting', attempts: 2, wake_ms: 9000, error: transient, retried: [failed(1, 1000, 1200, 100), failed(2, 1300, 1400, 7600)] });
    const [row] = waterfallRows(live, [s], 3000);
    expect(row).toMatchObject({ open: true, startMs: 1000, endMs: 3000, widthPct: 100 });
    expect(row.segments!.map((g) => [g.kind, g.attempt, g.open, g.startMs, g.endMs])).toEqual([
      ['failed', 1, false, 1000, 1200],
      ['wait', 1, false, 1200, 1300],
      ['failed', 2, false, 1300, 1400],
      ['wait', 2, true, 1400, 3000],
    ]);
  });

  it('keeps a running retry open', () => {
    const live = { created_ms: 1000, updated_ms: 1400, status: 'running' as const };
    const s = step('a', 1000, undefined, { attempts: 2, retried: [failed(1, 1000, 1200, 300)] });
    const [row] = waterfallRows(live, [s], 2000);
    expect(row.segments!.at(-1)).toMatchObject({ kind: 'last', attempt: 2, status: 'running', open: true, startMs: 1500, endMs: 2000, offsetPct: 50, widthPct: 50 });
  });
});

describe('failedStep', () => {
  it('picks the last failed record', () => {
    const steps = [step('a', 0, 1, { status: 'failed' }), step('b', 1, 2), step('c', 2, 3, { status: 'failed' })];
    expect(failedStep(steps)?.path).toBe('c');
    expect(failedStep([step('a', 0, 1)])).toBeUndefined();
  });
});
