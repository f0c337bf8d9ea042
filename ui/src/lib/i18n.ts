// The translation catalogues shared with the Rust core: assets/i18n/<lang>/<part>.json, one part
// per domain plus `common`, each a flat object key → text, merged here into one catalogue per
// language. Invariants (tested): a key lives in exactly one part; French and English have the
// same parts and keys. French is the first language; a key missing in English falls back to it.
import type { Lang } from './generated/Lang';
import { prefs } from './prefs.svelte';

export type Params = Record<string, string | number>;
type Catalogue = Record<string, string>;

const frFiles = import.meta.glob<Catalogue>('../../../assets/i18n/fr/*.json', { eager: true, import: 'default' });
const enFiles = import.meta.glob<Catalogue>('../../../assets/i18n/en/*.json', { eager: true, import: 'default' });

/** Files by part name: ".../fr/customers.json" → "customers". */
function byPart(files: Record<string, Catalogue>): Record<string, Catalogue> {
  return Object.fromEntries(Object.entries(files).map(([path, texts]) => [path.replace(/^.*\/|\.json$/g, ''), texts]));
}

/** Each language's parts, by name. */
export const parts: Record<Lang, Record<string, Catalogue>> = { fr: byPart(frFiles), en: byPart(enFiles) };

const merge = (p: Record<string, Catalogue>): Catalogue => Object.assign({}, ...Object.values(p));

/** The catalogues shared with the Rust core (all parts merged, key → text). */
export const catalogues: Record<Lang, Catalogue> = { fr: merge(parts.fr), en: merge(parts.en) };

/** The number a parameter holds, whether given as a number or already formatted in `lang`
 *  ("1 234", "1,234", "2,5"); NaN when it holds none. */
export function paramNumber(lang: Lang, v: string | number): number {
  if (typeof v === 'number') return v;
  const bare = v.replace(/[\s\u00a0\u202f]/g, '');
  return Number(lang === 'fr' ? bare.replace(/\./g, '').replace(',', '.') : bare.replace(/,/g, ''));
}

/** Rule: the plural form for a number: French says "0 client", "1,5 client", "2 clients";
 *  English says "1 customer", "0 customers" (the languages' CLDR rules). */
export function pluralForm(lang: Lang, n: number): 'one' | 'other' {
  if (Number.isNaN(n)) return 'other';
  return new Intl.PluralRules(lang).select(n) === 'one' ? 'one' : 'other';
}

/** Translate `key` into `lang`, replacing `{name}` placeholders with `params`, and
 *  `{name|one|other}` with the form that agrees with the number `name` holds. */
export function translate(lang: Lang, key: string, params?: Params): string {
  const text = catalogues[lang][key] ?? catalogues.fr[key];
  if (text === undefined) {
    if (import.meta.env.DEV) console.warn(`missing translation: ${key}`);
    return key;
  }
  if (!params) return text;
  const has = (name: string) => Object.prototype.hasOwnProperty.call(params, name);
  return text
    .replace(/\{(\w+)\|([^{}|]*)\|([^{}|]*)\}/g, (whole, name: string, one: string, other: string) =>
      has(name) ? (pluralForm(lang, paramNumber(lang, params[name])) === 'one' ? one : other) : whole,
    )
    .replace(/\{(\w+)\}/g, (whole, name: string) => (has(name) ? String(params[name]) : whole));
}

/** Translate into the current interface language (reactive in components). */
export function t(key: string, params?: Params): string {
  return translate(prefs.lang, key, params);
}
