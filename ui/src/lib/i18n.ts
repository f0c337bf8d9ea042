import fr from '../../../assets/i18n/fr.json';
import en from '../../../assets/i18n/en.json';
import type { Lang } from './generated/Lang';
import { prefs } from './prefs.svelte';

export type Params = Record<string, string | number>;

/** The catalogues shared with the Rust core (flat objects, key → text). */
export const catalogues: Record<Lang, Record<string, string>> = { fr, en };

/** Translate `key` into `lang`, replacing `{name}` placeholders with `params`. */
export function translate(lang: Lang, key: string, params?: Params): string {
  const text = catalogues[lang][key] ?? catalogues.fr[key];
  if (text === undefined) {
    if (import.meta.env.DEV) console.warn(`missing translation: ${key}`);
    return key;
  }
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

/** Translate into the current interface language (reactive in components). */
export function t(key: string, params?: Params): string {
  return translate(prefs.lang, key, params);
}
