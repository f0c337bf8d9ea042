// Money, dates, birthdays and voucher values formatted for each shop locale.
import { describe, expect, it } from 'vitest';
import { formatBirthday, formatDecimal, formatDateTime, formatMoney, formatMoneyHeadline, intlLocale, localInputToUtcIso, parseBackendDate, formatVoucherValue } from './format';

/** Intl uses (narrow) no-break spaces; compare with plain ones. */
const n = (s: string) => s.replace(/[\u00a0\u202f\u2009]/g, ' ');

describe('money formatting', () => {
  it('fr-FR writes euros after the amount with a comma', () => {
    expect(n(formatMoney(123450, 'fr-FR', 'EUR'))).toBe('1 234,50 €');
  });
  it('fr-CA writes dollars after the amount with a comma', () => {
    expect(n(formatMoney(123450, 'fr-CA', 'CAD'))).toBe('1 234,50 $');
  });
  it('en with CAD uses en-CA', () => {
    expect(intlLocale('en', 'CAD')).toBe('en-CA');
    expect(n(formatMoney(123450, 'en', 'CAD'))).toBe('$1,234.50');
  });
  it('en with EUR uses en-GB', () => {
    expect(intlLocale('en', 'EUR')).toBe('en-GB');
    expect(n(formatMoney(1250, 'en', 'EUR'))).toBe('€12.50');
  });
  it('a headline figure drops the cents from a thousand up, rounding to the nearest unit', () => {
    expect(n(formatMoneyHeadline(19563211, 'fr-FR', 'EUR'))).toBe('195 632 €');
    expect(n(formatMoneyHeadline(19563251, 'fr-FR', 'EUR'))).toBe('195 633 €');
    expect(n(formatMoneyHeadline(99999, 'fr-FR', 'EUR'))).toBe('999,99 €');
    expect(n(formatMoneyHeadline(2770, 'en', 'EUR'))).toBe('€27.70');
    expect(n(formatMoneyHeadline(-250000, 'en', 'CAD'))).toBe('-$2,500');
  });
  it('negative and zero amounts keep two decimals', () => {
    expect(n(formatMoney(0, 'fr-FR', 'EUR'))).toBe('0,00 €');
    expect(n(formatMoney(-5, 'fr-FR', 'EUR'))).toMatch(/^-0,05 €$/);
  });
});

describe('backend dates', () => {
  it('parses "YYYY-MM-DD HH:MM:SS.mmm+00:00" as UTC', () => {
    expect(parseBackendDate('2026-11-23 14:03:12.123+00:00')?.getTime()).toBe(Date.UTC(2026, 10, 23, 14, 3, 12, 123));
  });
  it('parses the T form, Z, more than 3 fractional digits and no zone (UTC)', () => {
    const want = Date.UTC(2026, 10, 23, 14, 3, 12, 123);
    expect(parseBackendDate('2026-11-23T14:03:12.123Z')?.getTime()).toBe(want);
    expect(parseBackendDate('2026-11-23 14:03:12.123456789+00:00')?.getTime()).toBe(want);
    expect(parseBackendDate('2026-11-23 14:03:12.123')?.getTime()).toBe(want);
  });
  it('applies an offset', () => {
    expect(parseBackendDate('2026-11-23 10:03:12-04:00')?.getTime()).toBe(Date.UTC(2026, 10, 23, 14, 3, 12));
  });
  it('refuses what is not a date', () => {
    expect(parseBackendDate('')).toBeNull();
    expect(parseBackendDate(null)).toBeNull();
    expect(parseBackendDate('hier')).toBeNull();
    expect(parseBackendDate('2026-13-45 99:99:99')).toBeNull();
  });
  it('formats in the given time zone', () => {
    const s = n(formatDateTime('2026-11-23 14:03:12.123+00:00', { locale: 'fr-FR', currency: 'EUR', timeZone: 'Europe/Paris' }));
    expect(s).toContain('23 nov. 2026');
    expect(s).toContain('15:03');
    const q = n(formatDateTime('2026-11-23 14:03:12+00:00', { locale: 'fr-CA', currency: 'CAD', timeZone: 'America/Montreal' }));
    expect(q).toContain('09 h 03');
  });
  it('converts a datetime-local value to a UTC ISO string', () => {
    const iso = localInputToUtcIso('2026-11-23T14:03');
    expect(iso).toBe(new Date(2026, 10, 23, 14, 3).toISOString());
    expect(localInputToUtcIso('23/11/2026')).toBeNull();
  });
});

describe('birthdays', () => {
  it('day and month name, with the year when known', () => {
    expect(formatBirthday({ day: 29, month: 2, year: null }, { locale: 'fr-FR' })).toBe('29 février');
    expect(formatBirthday({ day: 3, month: 3, year: 1985 }, { locale: 'fr-FR' })).toBe('3 mars 1985');
    expect(formatBirthday({ day: 1, month: 7, year: null }, { locale: 'en', currency: 'EUR' })).toBe('1 July');
    expect(formatBirthday({ day: 1, month: 7, year: null }, { locale: 'en', currency: 'CAD' })).toBe('July 1');
  });
});

describe('formatVoucherValue', () => {
  it('an amount voucher shows money, a percentage voucher shows a percent the local way', () => {
    const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');
    expect(plain(formatVoucherValue('amount', 500, 'fr-FR', 'EUR'))).toBe('5,00 €');
    expect(plain(formatVoucherValue('percent', 10, 'fr-FR', 'EUR')), 'French puts a space before %').toBe('10 %');
    expect(formatVoucherValue('percent', 10, 'en', 'CAD'), 'English does not').toBe('10%');
  });
});

describe('formatDecimal', () => {
  it('writes a measured value the shop’s way, with exactly the digits asked', () => {
    expect(formatDecimal(0.9081, 3, 'fr-FR', 'EUR'), 'French decimals take a comma').toBe('0,908');
    expect(formatDecimal(4.4, 2, 'en', 'EUR'), 'English keeps the point and pads the digits').toBe('4.40');
    expect(formatDecimal(0.006, 3, 'fr-CA', 'CAD')).toBe('0,006');
  });
});
