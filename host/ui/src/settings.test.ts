import { describe, expect, it } from 'vitest';
import { buildSecrets, buildSettings, fieldText, formSpec, parseHosts } from './settings';

describe('formSpec', () => {
  it('splits weft manifest setting specs into settings and secrets', () => {
    const spec = formSpec({
      settings: [
        { name: 'base_url', description: 'API base', secret: false, required: true },
        { name: 'token', description: 'API token', secret: true, required: true },
      ],
    });
    expect(spec.settings).toEqual([{ name: 'base_url', type: 'auto', required: true, description: 'API base' }]);
    expect(spec.secrets).toEqual([{ name: 'token', required: true, description: 'API token' }]);
  });

  it('types fields from a JSON Schema and falls back to JSON', () => {
    const spec = formSpec({
      settings: {
        type: 'object',
        required: ['url'],
        properties: {
          url: { type: 'string', description: 'where' },
          retries: { type: 'integer', default: 3 },
          ratio: { type: ['number', 'null'] },
          verbose: { type: 'boolean' },
          region: { type: 'string', enum: ['eu', 'us'] },
          headers: { type: 'object' },
        },
      },
      secrets: ['api_key'],
    });
    expect(spec.settings.map((f) => [f.name, f.type, f.required])).toEqual([
      ['url', 'text', true],
      ['retries', 'integer', false],
      ['ratio', 'number', false],
      ['verbose', 'boolean', false],
      ['region', 'enum', false],
      ['headers', 'json', false],
    ]);
    expect(spec.settings[1].placeholder).toBe('3');
    expect(spec.settings[4].options).toEqual(['eu', 'us']);
    expect(spec.secrets).toEqual([{ name: 'api_key', required: false, description: undefined }]);
  });

  it('is empty without a manifest', () => {
    expect(formSpec(undefined)).toEqual({ settings: [], secrets: [] });
  });
});

describe('buildSettings', () => {
  const fields = formSpec({
    settings: {
      properties: { url: { type: 'string' }, n: { type: 'integer' }, on: { type: 'boolean' }, h: { type: 'object' } },
      required: ['url'],
    },
  }).settings;

  it('types values and leaves out empty fields', () => {
    expect(buildSettings(fields, { url: 'https://x', n: '5', on: true, h: '{"a":1}' }, '')).toEqual({ url: 'https://x', n: 5, on: true, h: { a: 1 } });
    expect(buildSettings(fields, { url: 'u', n: '' }, '{"other": [1]}')).toEqual({ url: 'u', other: [1] });
  });

  it('names the field that does not parse', () => {
    expect(() => buildSettings(fields, { url: '' }, '')).toThrow('url: required');
    expect(() => buildSettings(fields, { url: 'u', n: '1.5' }, '')).toThrow(/^n: /);
    expect(() => buildSettings(fields, { url: 'u', h: '{' }, '')).toThrow(/^h: /);
    expect(() => buildSettings(fields, { url: 'u' }, '[1]')).toThrow('other settings: must be a JSON object');
  });

  it('shows stored values in inputs', () => {
    expect(fieldText(fields[0], 'https://x')).toBe('https://x');
    expect(fieldText(fields[1], 5)).toBe('5');
    expect(fieldText(fields[3], { a: 1 })).toBe('{\n  "a": 1\n}');
    expect(fieldText(fields[0], undefined)).toBe('');
  });
});

describe('untyped settings', () => {
  const [auto] = formSpec({ settings: [{ name: 'v', secret: false, required: false }] }).settings;
  it('reads JSON when it parses, else a string, like the CLI', () => {
    expect(buildSettings([auto], { v: 'https://x' }, '')).toEqual({ v: 'https://x' });
    expect(buildSettings([auto], { v: '8080' }, '')).toEqual({ v: 8080 });
    expect(buildSettings([auto], { v: '"8080"' }, '')).toEqual({ v: '8080' });
    expect(buildSettings([auto], { v: '{"a":true}' }, '')).toEqual({ v: { a: true } });
  });
  it('shows stored values so they read back the same', () => {
    for (const v of ['https://x', '8080', 'true', 8080, true, { a: [1] }, 'plain text']) {
      expect(buildSettings([auto], { v: fieldText(auto, v) }, '')).toEqual({ v });
    }
  });
});

describe('secrets and hosts', () => {
  it('keeps empty secrets, sets typed ones, removes checked ones', () => {
    expect(buildSecrets({ a: '', b: 'new', c: 'ignored' }, { c: true, d: true, e: false })).toEqual({ b: 'new', c: null, d: null });
  });
  it('splits hosts on commas and newlines', () => {
    expect(parseHosts('api.example.com, *.example.org\n\n localhost:8080 ,')).toEqual(['api.example.com', '*.example.org', 'localhost:8080']);
  });
});
