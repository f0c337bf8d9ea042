// The shop's settings: name, language, country, currency, and the logo printed on cards.
import type { Outcome } from '../generated/Outcome';
import type { Settings } from '../generated/Settings';
import type { SettingsInput } from '../generated/SettingsInput';
import { call } from './core';

export const settingsGet = () => call<Settings>('settings_get');
export const settingsUpdate = (input: SettingsInput, key: string) =>
  call<Outcome<Settings>>('settings_update', { input, key });
/** `logo`: a PNG or JPEG data URL (checked in the core), or null to remove it. */
export const settingsLogo = (logo: string | null, key: string) => call<Outcome<null>>('settings_logo', { logo, key });
