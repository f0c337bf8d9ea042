/**
 * What every form shares: a value that could not be read (`Problem`, `Parsed`), the decimal
 * separator of the shop's locale, cents shown in an input, and problems turned into the error the
 * form displays. Pure functions; the core still decides whether the values are acceptable.
 */
import type { ErrorPayload } from './generated/ErrorPayload';
import type { Locale } from './generated/Locale';

/** A value that could not be read: the field (as the core names it) and a message key. */
export interface Problem { field: string; key: string }
export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/** Cents as an input value: 100 → "1,00" (or "1.00" with decimal "."). */
export function centsToInput(cents: number, decimal: ',' | '.' = ','): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(Math.round(cents));
  return `${sign}${Math.floor(abs / 100)}${decimal}${String(abs % 100).padStart(2, '0')}`;
}

/** The decimal separator people type in a shop locale. */
export function decimalFor(locale: Locale): ',' | '.' {
  return locale === 'en' ? '.' : ',';
}

/** Problems as the error the form shows, in the interface language. */
export function problemsToError(problems: Problem[], tr: (key: string) => string): ErrorPayload {
  return {
    code: 'validation',
    message: tr('error.validation'),
    fields: problems.map((p) => ({ field: p.field, message: tr(p.key) })),
  };
}
