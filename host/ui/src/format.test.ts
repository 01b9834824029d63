import { describe, expect, it } from 'vitest';
import { ERROR_KIND_TEXT, clockTime, duration, errorKindText, firstLine, relativeTime, seconds, shortId, sinceFor } from './format';
import { ERROR_KINDS } from './types';

describe('format', () => {
  it('says relative times', () => {
    const now = 1_000_000_000;
    expect(relativeTime(now - 1000, now)).toBe('just now');
    expect(relativeTime(now - 42_000, now)).toBe('42 s ago');
    expect(relativeTime(now - 3 * 60_000, now)).toBe('3 min ago');
    expect(relativeTime(now - 2 * 3600_000, now)).toBe('2 h ago');
    expect(relativeTime(now - 5 * 86400_000, now)).toBe('5 d ago');
    expect(relativeTime(now + 10 * 60_000, now)).toBe('in 10 min');
  });
  it('says durations', () => {
    expect(duration(850)).toBe('850 ms');
    expect(duration(4200)).toBe('4.2 s');
    expect(duration(42_000)).toBe('42 s');
    expect(duration(185_000)).toBe('3 min 05 s');
    expect(duration(2 * 3600_000 + 10 * 60_000)).toBe('2 h 10 min');
    expect(duration(-1)).toBe('—');
  });
  it('says waits to a tenth of a second', () => {
    expect(seconds(850)).toBe('850 ms');
    expect(seconds(12_345)).toBe('12.3 s');
    expect(seconds(4_000)).toBe('4.0 s');
    expect(seconds(185_000)).toBe('3 min 05 s');
    expect(seconds(Number.NaN)).toBe('—');
    expect(clockTime(new Date(2024, 4, 1, 14, 3, 7).getTime())).toBe('14:03:07');
  });
  it('explains every error kind', () => {
    for (const kind of ERROR_KINDS) expect(ERROR_KIND_TEXT[kind]).toBeTruthy();
    expect(errorKindText('auth')).toContain("credentials");
    expect(errorKindText('something-new')).toBe('error kind something-new');
    expect(errorKindText('constructor')).toBe('error kind constructor');
  });
  it('shortens', () => {
    expect(shortId('abc')).toBe('abc');
    expect(shortId('0123456789abcdefghij')).toBe('…abcdefghij');
    expect(firstLine('one\ntwo')).toBe('one');
    expect(firstLine('x'.repeat(200), 10)).toBe(`${'x'.repeat(9)}…`);
  });
  it('turns ranges into since_ms', () => {
    expect(sinceFor('1h', 10_000_000)).toBe(10_000_000 - 3600_000);
    expect(sinceFor('all', 10_000_000)).toBeUndefined();
  });
});
