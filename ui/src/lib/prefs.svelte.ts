// The interface language and the shop's formatting conventions (reactive state).
import type { Currency } from './generated/Currency';
import type { Lang } from './generated/Lang';
import type { Locale } from './generated/Locale';

/** The interface language and the shop's formatting conventions, shared by every screen. */
export const prefs = $state<{ lang: Lang; locale: Locale; currency: Currency }>({
  lang: 'fr',
  locale: 'fr-FR',
  currency: 'EUR',
});

export function applyPrefs(p: { language: Lang; locale: Locale; currency: Currency }): void {
  prefs.lang = p.language;
  prefs.locale = p.locale;
  prefs.currency = p.currency;
  if (typeof document !== 'undefined') document.documentElement.lang = p.language;
}
