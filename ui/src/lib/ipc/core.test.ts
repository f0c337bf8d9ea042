// What every command call shares: errors normalised to an ErrorPayload, idempotency keys reused
// only for a retry of the same submission.
import { beforeEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.fn();
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...a: unknown[]) => invoke(...a) }));

const { call, newKey, normaliseError, WriteKey } = await import('./core');
const { translate } = await import('../i18n');

describe('normaliseError', () => {
  it('keeps an ErrorPayload from the backend as it is', () => {
    const e = { code: 'validation', message: 'Certains champs sont à corriger.', fields: [{ field: 'email', message: 'x' }] };
    expect(normaliseError(e)).toEqual(e);
  });
  it('adds missing fields and drops malformed ones', () => {
    expect(normaliseError({ code: 'busy', message: 'occupé' })).toEqual({ code: 'busy', message: 'occupé', fields: [] });
    expect(normaliseError({ code: 'validation', message: 'm', fields: [{ field: 1 }, { field: 'a', message: 'b' }] }).fields).toEqual([
      { field: 'a', message: 'b' },
    ]);
  });
  it('turns a string, an Error or anything else into a translated internal error', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const generic = translate('fr', 'ui.error.unexpected');
    for (const e of ['boom', new Error('boom'), undefined, 42, { message: 'no code' }]) {
      expect(normaliseError(e)).toEqual({ code: 'internal', message: generic, fields: [] });
    }
  });
});

describe('newKey', () => {
  it('is a version-7 UUID whose first digits are the time, so keys made later sort later', () => {
    const a = newKey(Date.UTC(2026, 11, 4, 23, 59, 59, 998));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.slice(0, 13).replace('-', '')).toBe(Date.UTC(2026, 11, 4, 23, 59, 59, 998).toString(16).padStart(12, '0'));
    const later = [1, 2, 1000, 86_400_000].map((d) => newKey(Date.UTC(2026, 11, 4, 23, 59, 59, 998) + d));
    for (const k of later) expect(k > a, `${k} sorts after ${a}`).toBe(true);
  });
  it('differs between two keys of the same millisecond (74 random bits)', () => {
    const at = Date.UTC(2026, 11, 5);
    const keys = new Set(Array.from({ length: 1000 }, () => newKey(at)));
    expect(keys.size).toBe(1000);
  });
});

describe('call', () => {
  beforeEach(() => {
    invoke.mockReset();
  });
  it('passes arguments and returns the value', async () => {
    invoke.mockResolvedValue([1]);
    await expect(call('customers_search', { query: 'ma', limit: 20 })).resolves.toEqual([1]);
    expect(invoke).toHaveBeenCalledWith('customers_search', { query: 'ma', limit: 20 });
  });
  it('rejects with an ErrorPayload only', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    invoke.mockRejectedValue('window not ready');
    await expect(call('stats_get')).rejects.toMatchObject({ code: 'internal', fields: [] });
  });
});

describe('WriteKey', () => {
  it('reuses the key when the same input is retried after internal or busy', async () => {
    const w = new WriteKey();
    const keys: string[] = [];
    const fail = (code: string) => (k: string) => {
      keys.push(k);
      return Promise.reject({ code, message: 'm', fields: [] });
    };
    await expect(w.run({ a: 1 }, fail('busy'))).rejects.toMatchObject({ code: 'busy' });
    await expect(w.run({ a: 1 }, fail('internal'))).rejects.toMatchObject({ code: 'internal' });
    await w.run({ a: 1 }, (k) => Promise.resolve(keys.push(k)));
    expect(keys[0]).toBe(keys[1]);
    expect(keys[1]).toBe(keys[2]);
    await w.run({ a: 1 }, (k) => Promise.resolve(keys.push(k)));
    expect(keys[3], 'a new key after success').not.toBe(keys[2]);
  });
  it('makes a new key when the input changes or after another error', async () => {
    const w = new WriteKey();
    const k1 = w.for({ a: 1 });
    w.settle({ code: 'busy', message: '', fields: [] });
    const k2 = w.for({ a: 2 });
    expect(k2).not.toBe(k1);
    w.settle({ code: 'validation', message: '', fields: [] });
    expect(w.for({ a: 2 })).not.toBe(k2);
  });
});
