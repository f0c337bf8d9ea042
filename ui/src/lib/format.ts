// How numbers, money and dates are shown, in the shop's locale and currency (prefs). Times come
// from the core in UTC and are shown in local time; nothing here decides a rule.
import type { Birthday } from './generated/Birthday';
import type { Currency } from './generated/Currency';
import type { Locale } from './generated/Locale';
import { prefs } from './prefs.svelte';

/** The BCP 47 locale used by Intl for a shop locale. */
export function intlLocale(locale: Locale, currency: Currency): string {
  if (locale === 'en') return currency === 'CAD' ? 'en-CA' : 'en-GB';
  return locale;
}

function current(): string {
  return intlLocale(prefs.locale, prefs.currency);
}

/** Money from integer cents, e.g. 1250 → "12,50 €". */
export function formatMoney(
  cents: number,
  locale: Locale = prefs.locale,
  currency: Currency = prefs.currency,
): string {
  return new Intl.NumberFormat(intlLocale(locale, currency), {
    style: 'currency',
    currency,
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  }).format(cents / 100);
}

/**
 * An amount for a headline figure: whole units from 1,000 up (195 632 € rather than
 * 195 632,11 €, which no longer fits a tile), cents below. Rounded to the nearest unit.
 */
export function formatMoneyHeadline(
  cents: number,
  locale: Locale = prefs.locale,
  currency: Currency = prefs.currency,
): string {
  if (Math.abs(cents) < 100_000) return formatMoney(cents, locale, currency);
  return new Intl.NumberFormat(intlLocale(locale, currency), {
    style: 'currency',
    currency,
    minimumFractionDigits: 0,
    maximumFractionDigits: 0,
  }).format(Math.round(cents / 100));
}

/** A plain count, e.g. 12345 → "12 345". */
/** A measured value with exactly `digits` decimals, in the shop's way of writing numbers
 *  ("0,908" in French, "0.908" in English). */
export function formatDecimal(n: number, digits: number, locale: Locale = prefs.locale, currency: Currency = prefs.currency): string {
  return new Intl.NumberFormat(intlLocale(locale, currency), { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n);
}

export function formatCount(n: number, locale: Locale = prefs.locale, currency: Currency = prefs.currency): string {
  return new Intl.NumberFormat(intlLocale(locale, currency)).format(n);
}

/** A voucher's value: an amount in cents, or a whole percentage, written the local way. */
export function formatVoucherValue(kind: 'amount' | 'percent', value: number, locale: Locale = prefs.locale, currency: Currency = prefs.currency): string {
  return kind === 'amount'
    ? formatMoney(value, locale, currency)
    : new Intl.NumberFormat(intlLocale(locale, currency), { style: 'percent' }).format(value / 100);
}

/**
 * Parse a timestamp sent by the backend. It is UTC and may look like
 * "2026-11-23 14:03:12.123+00:00", "2026-11-23T14:03:12Z" or "2026-11-23 14:03:12".
 * Returns null when the text is not a date.
 */
export function parseBackendDate(text: string | null | undefined): Date | null {
  if (!text) return null;
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d+))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(
    text.trim(),
  );
  if (!m) {
    const dateOnly = /^(\d{4}-\d{2}-\d{2})$/.exec(text.trim());
    if (!dateOnly) return null;
    const d = new Date(`${dateOnly[1]}T00:00:00Z`);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  const [, date, time, frac, zone] = m;
  const ms = frac ? `.${(frac + '00').slice(0, 3)}` : '';
  let tz = 'Z';
  if (zone && zone.toUpperCase() !== 'Z') {
    const z = zone.replace(':', '');
    tz = z.length === 3 ? `${z}:00` : `${z.slice(0, 3)}:${z.slice(3)}`;
  }
  const hms = time.length === 5 ? `${time}:00` : time;
  const d = new Date(`${date}T${hms}${ms}${tz}`);
  return Number.isNaN(d.getTime()) ? null : d;
}

export interface DateOptions {
  locale?: Locale;
  currency?: Currency;
  /** Defaults to the computer's time zone. */
  timeZone?: string;
}

function localeOf(o: DateOptions): string {
  return o.locale ? intlLocale(o.locale, o.currency ?? prefs.currency) : current();
}

/** Date and time in local time, e.g. "23 nov. 2026, 15:03". Empty when absent. */
export function formatDateTime(text: string | null | undefined, o: DateOptions = {}): string {
  const d = parseBackendDate(text);
  if (!d) return '';
  return new Intl.DateTimeFormat(localeOf(o), { dateStyle: 'medium', timeStyle: 'short', timeZone: o.timeZone }).format(d);
}

/** Time of day in local time, e.g. "15:03". Empty when absent. */
export function formatTime(text: string | null | undefined, o: DateOptions = {}): string {
  const d = parseBackendDate(text);
  if (!d) return '';
  return new Intl.DateTimeFormat(localeOf(o), { timeStyle: 'short', timeZone: o.timeZone }).format(d);
}

/** A share given in tenths of a percent, e.g. 125 → "12,5 %". */
export function formatPermille(value: number, locale: Locale = prefs.locale, currency: Currency = prefs.currency): string {
  return new Intl.NumberFormat(intlLocale(locale, currency), { style: 'percent', maximumFractionDigits: 1 }).format(value / 1000);
}

/** Date only in local time, e.g. "23 nov. 2026". Empty when absent. */
export function formatDate(text: string | null | undefined, o: DateOptions = {}): string {
  const d = parseBackendDate(text);
  if (!d) return '';
  return new Intl.DateTimeFormat(localeOf(o), { dateStyle: 'medium', timeZone: o.timeZone }).format(d);
}

/** A birthday as day and month name, with the year when known: "29 février", "3 mars 1985". */
export function formatBirthday(b: Birthday, o: DateOptions = {}): string {
  const d = new Date(Date.UTC(b.year ?? 2000, b.month - 1, b.day));
  return new Intl.DateTimeFormat(localeOf(o), {
    day: 'numeric',
    month: 'long',
    year: b.year === null ? undefined : 'numeric',
    timeZone: 'UTC',
  }).format(d);
}

/** Month names for selects, January first. */
export function monthNames(o: DateOptions = {}): string[] {
  const f = new Intl.DateTimeFormat(localeOf(o), { month: 'long', timeZone: 'UTC' });
  return Array.from({ length: 12 }, (_, i) => f.format(new Date(Date.UTC(2000, i, 1))));
}

/** The value of a datetime-local input ("2026-11-23T14:03"), read as local time, as a UTC ISO string. */
export function localInputToUtcIso(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Now as a datetime-local value (local time), used as the input's max. */
export function nowLocalInput(now: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}T${p(now.getHours())}:${p(now.getMinutes())}`;
}
