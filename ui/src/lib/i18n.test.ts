// The translation catalogues: the same parts and keys in French and English, a key in exactly one
// part, every key used somewhere (interface or Rust), every key used present, same placeholders.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogues, paramNumber, parts, pluralForm, translate } from './i18n';
import { AUTOMATION_REASONS } from './automationReasons';
import { AUTOMATION_KINDS, AUTOMATION_STATES } from '../customers/timeline';

const src = join(__dirname, '..');
const rust = join(__dirname, '../../../src-tauri');
const assets = join(__dirname, '../../../assets/i18n');

function files(dir: string, ext: RegExp, skip: string[]): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return skip.includes(name) ? [] : files(p, ext, skip);
    return ext.test(name) && !name.endsWith('.test.ts') ? [p] : [];
  });
}
const uiSources = () => files(src, /\.(svelte|ts)$/, ['generated']).map((f) => readFileSync(f, 'utf8'));
const rustSources = () => files(rust, /\.rs$/, ['target', 'gen']).map((f) => readFileSync(f, 'utf8'));

/** Literal keys: t('…') calls, and any quoted string that is a whole "ui.…" key. */
function usedKeys(): Set<string> {
  const keys = new Set<string>();
  for (const text of uiSources()) {
    for (const m of text.matchAll(/\bt\(\s*['"]([^'"]+)['"]/g)) keys.add(m[1]);
    for (const m of text.matchAll(/['"](ui\.[A-Za-z0-9_.-]*[A-Za-z0-9_-])['"]/g)) keys.add(m[1]);
  }
  return keys;
}

/** Every quoted string of the interface (without `${…}`) and of the Rust sources. */
function literals(): Set<string> {
  const found = new Set<string>();
  for (const text of uiSources()) for (const m of text.matchAll(/(['"`])([A-Za-z0-9_.-]+)\1/g)) found.add(m[2]);
  for (const text of rustSources()) for (const m of text.matchAll(/"([A-Za-z0-9_.-]+)"/g)) found.add(m[1]);
  return found;
}

/** The string values of a union type generated from Rust (`generated/<name>.ts`). */
function unionOf(name: string): string[] {
  const text = readFileSync(join(src, 'lib', 'generated', `${name}.ts`), 'utf8');
  const body = text.slice(text.indexOf('='));
  return [...body.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
}

/** Keys built at run time from a value of a generated type. */
const families: Record<string, string[]> = {
  'ui.consent.choice.': ['express', 'existing_customer', 'refused', 'none'],
  'ui.consent.source.': ['counter', 'paper_form', 'website', 'import', 'email', 'unsubscribe'],
  'ui.campaign.state.': ['draft', 'scheduled', 'running', 'paused', 'finished', 'cancelled'],
  'ui.campaign.pause_short.': unionOf('PauseReason'),
  'ui.campaign.field.': ['first_name', 'last_name', 'full_name', 'points', 'tier', 'voucher_code', 'voucher_value', 'shop_name',
    'referral_code', 'referral_friends', 'referral_next_milestone', 'referral_invite', 'points_expiring', 'expiry_date'],
  'automations.kind.': unionOf('AutomationKind'),
  'ui.automations.desc.': unionOf('AutomationKind'),
  'ui.automations.missed.': unionOf('AutomationKind').flatMap((k) => [k, `${k}_one`]),
  'ui.automations.state.': unionOf('OccasionState'),
  'ui.automations.f.': [
    'welcome_delay_hours', 'birthday_days_before', 'winback_days', 'winback_rhythm_percent', 'expiry_min_points',
    'tier_delay_hours', 'thanks_days', 'thanks_period_days', 'holdout_percent', 'results_days',
  ],
  'ui.campaign.block.': ['heading', 'text', 'image', 'button', 'product', 'survey'],
  'ui.segment.field.': [
    'has_tag', 'not_tag', 'tier_at_least', 'last_purchase_older_than', 'last_purchase_within', 'never_bought',
    'purchases_at_least', 'purchases_at_most', 'spent_at_least', 'spent_at_most', 'birthday_month', 'language',
    'country', 'consent', 'points_at_least', 'points_at_most',
    'rfm_segment', 'rfm_move', 'rfm_cell', 'churn_risk', 'lifetime_value_at_least', 'lifetime_value_at_most', 'loyalty_kind',
    'nps_answer', 'nps_answered_between', 'bought_between', 'first_purchase_between', 'card_holder', 'programme_compared', 'reward_used_within', 'points_expired_within', 'gift_received_within',
    'country', 'consent', 'points_at_least', 'points_at_most', 'approved_referrals_at_least', 'was_referred',
    'referred_by',
  ],
  'ui.segment.consent.': ['express', 'existing_customer', 'refused', 'unknown'],
  'ui.segment.exclusion.': unionOf('Exclusion'),
  'ui.segment.exclusion_help.': unionOf('Exclusion'),
  'ui.suppression.reason.': unionOf('SuppressionReason'),
  'ui.mail.password_place.': ['keychain', 'session_only', 'environment'],
  'ui.mail.problem.': unionOf('SmtpProblem'),
  'ui.duplicates.reason.': ['same_email', 'same_phone', 'similar_name_same_postcode'],
  'ui.mailbox.problem.': [
    'wrong_password', 'app_password_needed', 'basic_auth_disabled', 'host_not_found', 'port_blocked', 'tls_mismatch', 'timeout',
    'plain_text_remote', 'demo_file', 'password_missing', 'other',
  ],
  'ui.mailbox.rb.spf.': ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'unknown'],
  'ui.mailbox.rb.dkim.': ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'unknown'],
  'ui.mailbox.rb.dmarc.': ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'unknown'],
  'ui.mailbox.decision.': ['suppressed', 'counted', 'applied', 'pending', 'recorded', 'ignored', 'already'],
  'ui.mailbox.reason.': ['not_ours', 'test_send', 'still_trying', 'automatic', 'unknown_token', 'unknown_address', 'address_only', 'answered_recently', 'unknown_survey'],
  'ui.mailbox.preset.': ['gmail', 'outlook', 'ovh', 'orange', 'free', 'brevo', 'mailjet', 'custom'],
  'ui.mailbox.source.': ['imap', 'brevo', 'mailjet', 'api'],
  'ui.mailbox.kind.': [
    'hard_bounce', 'soft_bounce', 'delayed', 'auto_reply', 'unsubscribe', 'stop_request', 'complaint', 'survey',
    'test_copy', 'other',
  ],
  'ui.mailbox.supp_reason.': ['unsubscribed', 'hard_bounce', 'soft_bounce', 'complaint', 'cleaned', 'erased', 'merchant'],
  'ui.country.': ['FR', 'CA'],
  'ui.lang.': ['fr', 'en'],
  'ui.gesture.action.': ['referral', 'review', 'survey', 'birthday', 'second_life'],
  'ui.loyalty.kind.': ['earn', 'reverse', 'redeem', 'restore', 'expire', 'adjust', 'action', 'tier_entry'],
  'ui.programme.action.': ['referral', 'review', 'survey', 'birthday', 'second_life'],
  'ui.rewards.kind.': ['fixed_discount', 'percent_discount', 'free_product', 'voucher', 'experience', 'partner'],
  'referral.end.': [
    'expired', 'refund_during_hold', 'refund_after_approval', 'link_removed', 'rejected_in_review',
    'merged_same_person', 'merged_duplicate', 'merged_existing_customer', 'replaced_by_higher', 'milestone_lost',
  ],
  'ui.referrals.status.': ['pending', 'qualified', 'approved', 'voided', 'rejected', 'outside_offer'],
  'ui.referral_reason.': [
    'outside_offer', 'expired', 'refund_during_hold', 'refund_after_approval', 'link_removed', 'rejected_in_review',
    'merged_same_person', 'merged_duplicate', 'merged_existing_customer', 'replaced_by_higher', 'milestone_lost', 'no_slot_left', 'budget_spent',
    'cap_reached', 'reward_unavailable', 'out_of_stock',
  ],
  'ui.timeline.referral.': [
    'referred', 'link_changed', 'link_removed', 'flagged', 'cleared', 'first_purchase', 'qualified', 'approved', 'voided',
    'rejected', 'reward_issued', 'reward_taken_back', 'reward_refused',
  ].flatMap((e) => [`${e}.referrer`, `${e}.friend`]),
  'ui.timeline.automation_kind.': [...AUTOMATION_KINDS],
  'ui.timeline.automation_state.': [...AUTOMATION_STATES],
  'ui.automation_reason.': [...AUTOMATION_REASONS],
  'ui.data.field.': unionOf('Field'),
  'ui.data.kind.': unionOf('RowKind'),
  'ui.data.preset.': unionOf('Preset'),
  'ui.data.format.': unionOf('ExportFormat'),
  'ui.data.format_hint.': unionOf('ExportFormat'),
  'ui.data.backup_reason.': unionOf('BackupReason'),
  'ui.data.retention.': unionOf('RetentionReason'),
  'ui.data.step.': ['file', 'mapping', 'options', 'preview', 'report'],
  'ui.data.warning.': ['no_backup', 'local_old', 'no_offsite', 'offsite_missing', 'offsite_old', 'db_in_synced_folder', 'key_corrupt'],
  // The access pack's sections (data/access_pack.rs SECTIONS) and the export's columns
  // (data/export.rs HEADERS), whose titles the core builds as `access.section.<name>` and
  // `export.header.<name>`.
  'access.section.': ['cards', 'consents', 'events', 'imports', 'mail_received', 'messages', 'notes', 'points', 'purchases', 'referrals', 'satisfaction', 'stamps', 'tags', 'unsubscribes', 'voucher_uses', 'vouchers'],
  'export.header.': ['address', 'address2', 'birthday', 'card', 'city', 'consent', 'country', 'email', 'first_name', 'id', 'language', 'last_name', 'last_purchase', 'phone', 'points', 'postcode', 'since', 'spent', 'tags', 'visits'],
  'import.reason.': [
    'balance_not_for_existing', 'card_invalid', 'card_taken', 'cell_too_long', 'date_impossible', 'date_unreadable', 'email_invalid',
    'formula', 'invalid', 'name_required', 'number_invalid', 'phone_invalid', 'postcode_invalid', 'suppressed', 'too_long',
    'too_many_tags', 'unreadable',
  ],
  'ui.field.': [
    'first_name', 'last_name', 'email', 'phone', 'address.line1', 'address.line2', 'address.postcode',
    'address.city', 'address.country', 'birthday', 'language', 'tags',
  ],
};

/** Keys the core builds at run time: `format!("entity.{entity}")` for `Error::not_found("…")`. */
function rustFamilies(): Set<string> {
  const keys = new Set<string>();
  for (const text of rustSources()) {
    for (const m of text.matchAll(/(?:not_found\(|entity:)\s*"([a-z_]+)"/g)) keys.add(`entity.${m[1]}`);
  }
  return keys;
}

/** Literal keys of the core's messages (errors, conflicts, emails). */
function rustKeys(): Set<string> {
  const keys = new Set<string>();
  for (const text of rustSources()) {
    for (const m of text.matchAll(/"((?:field|error|conflict|timeline|campaign|mail|entity|deliverability)\.[A-Za-z0-9_.]*[A-Za-z0-9_])"/g)) {
      keys.add(m[1]);
    }
  }
  return keys;
}

describe('catalogues', () => {
  it('French and English have exactly the same keys', () => {
    expect(Object.keys(catalogues.en).sort()).toEqual(Object.keys(catalogues.fr).sort());
  });
  it('French and English have the same parts, each with the same keys', () => {
    const names = (dir: string) => readdirSync(join(assets, dir)).filter((n) => n.endsWith('.json')).sort();
    expect(names('en'), 'the files of assets/i18n/en and fr').toEqual(names('fr'));
    expect(Object.keys(parts.fr).sort(), 'every file is loaded').toEqual(names('fr').map((n) => n.replace(/\.json$/, '')));
    expect(Object.keys(parts.en).sort()).toEqual(Object.keys(parts.fr).sort());
    for (const part of Object.keys(parts.fr)) {
      expect(Object.keys(parts.en[part]).sort(), `keys of en/${part}.json`).toEqual(Object.keys(parts.fr[part]).sort());
    }
  });
  it('no key is in two parts', () => {
    for (const lang of ['fr', 'en'] as const) {
      const seen = new Map<string, string>();
      const twice: string[] = [];
      for (const [part, texts] of Object.entries(parts[lang])) {
        for (const k of Object.keys(texts)) {
          if (seen.has(k)) twice.push(`${k} (${lang}/${seen.get(k)}.json and ${lang}/${part}.json)`);
          else seen.set(k, part);
        }
      }
      expect(twice, 'keys in two parts').toEqual([]);
    }
  });
  it('no value is empty', () => {
    for (const lang of ['fr', 'en'] as const) {
      for (const [k, v] of Object.entries(catalogues[lang])) expect(v.trim(), `${lang} ${k}`).not.toBe('');
    }
  });
  it('every key used in the interface exists in both languages', () => {
    const keys = usedKeys();
    expect(keys.size).toBeGreaterThan(100);
    for (const [prefix, values] of Object.entries(families)) for (const v of values) keys.add(prefix + v);
    for (const k of keys) {
      expect(catalogues.fr[k], `fr is missing ${k}`).toBeDefined();
      expect(catalogues.en[k], `en is missing ${k}`).toBeDefined();
    }
  });
  it('every key used by the core exists in both languages', () => {
    const keys = new Set([...rustKeys(), ...rustFamilies()]);
    expect(keys.size).toBeGreaterThan(50);
    const missing = [...keys].filter((k) => catalogues.fr[k] === undefined || catalogues.en[k] === undefined);
    expect(missing, 'keys used by the core but missing in fr or en').toEqual([]);
  });
  it('every key is used by the interface or the core', () => {
    const used = literals();
    for (const [prefix, values] of Object.entries(families)) for (const v of values) used.add(prefix + v);
    for (const k of rustFamilies()) used.add(k);
    const unused = Object.keys(catalogues.fr).filter((k) => !used.has(k));
    expect(unused, 'keys nobody uses: remove them, or add their family to the table above').toEqual([]);
  });
  it('placeholders are the same in both languages', () => {
    const ph = (s: string) => [...new Set([...s.matchAll(/\{(\w+)[}|]/g)].map((m) => m[1]))].sort();
    for (const k of Object.keys(catalogues.fr)) expect(ph(catalogues.en[k] ?? ''), k).toEqual(ph(catalogues.fr[k]));
  });
  it("agrees a word with its number, by each language's rule", () => {
    const forms = (lang: 'fr' | 'en', n: string | number) => translate(lang, 'ui.numbers.list.total', { n });
    expect(forms('fr', 1)).toBe('1 client');
    expect(forms('fr', 0)).toBe('0 client');
    expect(forms('fr', '1\u202f234')).toBe('1\u202f234 clients');
    expect(forms('en', 1)).toBe('1 customer');
    expect(forms('en', 0)).toBe('0 customers');
    expect(forms('en', '1,001')).toBe('1,001 customers');
    expect(pluralForm('fr', paramNumber('fr', '1,5'))).toBe('one');
    expect(pluralForm('en', paramNumber('en', 'many'))).toBe('other');
  });
  it('every plural form is well formed: no braces inside a form', () => {
    for (const lang of ['fr', 'en'] as const)
      for (const [k, text] of Object.entries(catalogues[lang])) {
        const opened = [...text.matchAll(/\{(\w+)\|/g)].length;
        const whole = [...text.matchAll(/\{(\w+)\|([^{}|]*)\|([^{}|]*)\}/g)].length;
        expect(whole, `${lang} ${k}: ${text}`).toBe(opened);
      }
  });
  it('fills placeholders', () => {
    expect(translate('fr', 'ui.till.confirmation', { amount: '12,50 €', name: 'Élodie Lefèvre' })).toBe(
      'Vente de 12,50 € enregistrée pour Élodie Lefèvre',
    );
    expect(translate('en', 'ui.nav.customers')).toBe('Customers');
    expect(translate('fr', 'ui.nav.loyalty')).toBe('Fidélité');
  });
});
