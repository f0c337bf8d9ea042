// The campaign screens mounted against a mocked backend: the list and missed sends, the follow-up
// (progress, results, A/B winner), sending settings, unsubscribes, and campaign entries in a
// customer's timeline.
import { cleanup, fireEvent, render, waitFor } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Campaign } from '$lib/generated/Campaign';
import type { CampaignSummary } from '$lib/generated/CampaignSummary';
import type { MailSettingsView } from '$lib/generated/MailSettingsView';
import { prefs } from '$lib/prefs.svelte';

const calls: { cmd: string; args: Record<string, unknown> | undefined }[] = [];
let answer: (cmd: string, args: Record<string, unknown> | undefined) => unknown = () => null;

vi.mock('@tauri-apps/api/core', () => ({
  invoke: async (cmd: string, args?: Record<string, unknown>) => {
    calls.push({ cmd, args });
    return answer(cmd, args);
  },
}));

const { default: Campaigns } = await import('./Campaigns.svelte');
const { default: MailSettings } = await import('./MailSettings.svelte');
const { default: Unsubscribes } = await import('./Unsubscribes.svelte');
const { default: CampaignFollowUp } = await import('./CampaignFollowUp.svelte');
const { default: TimelineItem } = await import('../customers/TimelineItem.svelte');

const outcome = <T>(value: T) => ({ value, changes: {}, replayed: false });
const plain = (s: string | null | undefined) => (s ?? '').replace(/[\u00a0\u202f]/g, ' ').replace(/\s+/g, ' ');

function campaign(patch: Partial<Campaign>): Campaign {
  return {
    id: 7,
    name: 'Novembre',
    state: 'running',
    content: { a: { subject: 'Bonjour', preheader: '', blocks: [] }, b: null },
    audience: { filter: { combine: 'all', conditions: [] }, control_percent: 10, ab: null, results_days: 14 },
    scheduled_at: null,
    missed: false,
    pause_reason: null,
    pause_detail: null,
    resume_at: null,
    started_at: '2026-11-01T10:00:00Z',
    sample_done_at: null,
    ab_winner: null,
    finished_at: null,
    created_at: '2026-11-01T09:00:00Z',
    updated_at: '2026-11-01T10:00:00Z',
    progress: { total: 224, sent: 100, waiting: 120, failed: 3, skipped: 1, control: 24 },
    tests: [],
    ...patch,
  };
}

const results = {
  sent: 100,
  failed: 3,
  skipped: 1,
  unsubscribed: 2,
  window_days: 14,
  window_start: '2026-11-01T10:00:00Z',
  window_end: '2026-11-15T10:00:00Z',
  complete: false,
  recipients: { people: 100, buyers: 10, purchases: 12, revenue_cents: 50_000 },
  control: { people: 24, buyers: 1, purchases: 1, revenue_cents: 3_000 },
  uplift: { extra_buyers: 6, extra_revenue_cents: 37_500, buyer_rate_permille: 100, control_buyer_rate_permille: 41 },
  variant_a: null,
  variant_b: null,
  ab_winner: null,
};

beforeEach(() => {
  prefs.lang = 'fr';
  prefs.locale = 'fr-FR';
  prefs.currency = 'EUR';
  calls.length = 0;
});
afterEach(cleanup);

describe('campaign list', () => {
  it('lists campaigns and offers to send a missed one now', async () => {
    const rows: CampaignSummary[] = [
      { ...campaign({}), subject: 'Bonjour', unreadable: false },
      { ...campaign({ id: 8, name: 'Soldes', state: 'scheduled', missed: true, scheduled_at: '2026-11-20T08:00:00Z' }), subject: 'Soldes', unreadable: false },
    ];
    answer = (cmd) => (cmd === 'campaigns_list' ? rows : cmd === 'campaign_start' ? outcome(campaign({ id: 8 })) : null);
    const { findAllByTestId, getByText } = render(Campaigns);
    const found = await findAllByTestId('campaign-row');
    expect(found, 'one row per campaign').toHaveLength(2);
    expect(plain(found[0].textContent), 'progress reads sent / total').toContain('100 / 224');
    expect(plain(document.body.textContent), 'the missed sending is explained').toContain("n'est pas parti : l'application était fermée");
    await fireEvent.click(getByText('Envoyer maintenant'));
    await waitFor(() => expect(calls.find((c) => c.cmd === 'campaign_start')?.args?.id, 'the missed campaign starts').toBe(8));
  });
});

describe('a campaign that cannot be read', () => {
  it('is listed and flagged, and the others are shown as usual', async () => {
    const rows: CampaignSummary[] = [
      { ...campaign({ id: 3, name: 'Abîmée' }), subject: '', unreadable: true },
      { ...campaign({ id: 4, name: 'Saine' }), subject: 'Bonjour', unreadable: false },
    ];
    answer = (cmd) => (cmd === 'campaigns_list' ? rows : null);
    const { findAllByTestId, getAllByTestId } = render(Campaigns);
    expect(await findAllByTestId('campaign-row'), 'both are listed').toHaveLength(2);
    expect(getAllByTestId('campaign-unreadable'), 'only the damaged one is flagged').toHaveLength(1);
    expect(plain(document.body.textContent)).toContain('Illisible');
  });
});

describe('a scheduled send that could not leave', () => {
  it('says why instead of blaming a closed app', async () => {
    const rows: CampaignSummary[] = [
      {
        ...campaign({ id: 9, name: 'Noël', state: 'scheduled', missed: true, scheduled_at: '2026-12-20T08:00:00Z' }),
        pause_detail: 'Personne dans ce segment ne peut recevoir de message (consentement).',
        subject: 'Noël',
        unreadable: false,
      },
    ];
    answer = (cmd) => (cmd === 'campaigns_list' ? rows : null);
    const { findAllByTestId } = render(Campaigns);
    await findAllByTestId('campaign-missed');
    const text = plain(document.body.textContent);
    expect(text, 'the reason it did not leave is shown').toContain('Personne dans ce segment');
    expect(text, 'not the closed-app wording').not.toContain("l'application était fermée");
  });
});

describe('campaign follow-up', () => {
  it('shows progress, results with the uplift, and pauses on request', async () => {
    answer = (cmd) => {
      if (cmd === 'campaign_results') return results;
      if (cmd === 'campaign_pause') return outcome(campaign({ state: 'paused', pause_reason: 'merchant' }));
      if (cmd === 'campaign_get') return campaign({});
      return null;
    };
    const changed = vi.fn();
    const { getByTestId, findByTestId } = render(CampaignFollowUp, { props: { campaign: campaign({}), changed } });
    const bar = getByTestId('campaign-progress') as HTMLProgressElement;
    expect([bar.value, bar.max], 'done (sent, failed, skipped) out of everyone').toEqual([104, 224]);
    expect(getByTestId('progress-waiting').textContent, 'waiting count').toBe('120');
    expect(getByTestId('campaign-state').textContent, 'the state in words').toBe("En cours d'envoi");

    const sent = await findByTestId('results-sent');
    expect(sent.textContent).toBe('100');
    expect(plain(getByTestId('results').textContent), 'the uplift in words').toContain(
      "+6 acheteurs, +375,00 € de chiffre d'affaires estimés grâce à la campagne",
    );
    expect(plain(getByTestId('results').textContent), 'provisional until the window ends').toContain('Chiffres provisoires');

    await fireEvent.click(getByTestId('campaign-pause'));
    await findByTestId('campaign-resume');
    expect(plain(getByTestId('pause-reason').textContent), 'the pause is explained').toContain('Vous avez mis l');
    expect(changed).toHaveBeenCalled();
  });

  it('an A/B test waiting for its winner offers both versions', async () => {
    answer = (cmd) =>
      cmd === 'campaign_results'
        ? {
            ...results,
            variant_a: { people: 20, buyers: 2, purchases: 2, revenue_cents: 4_000 },
            variant_b: { people: 20, buyers: 4, purchases: 5, revenue_cents: 9_000 },
          }
        : cmd === 'campaign_choose_winner'
          ? outcome(campaign({ ab_winner: 'b' }))
          : campaign({ state: 'paused', pause_reason: 'ab_waiting' });
    const c = campaign({
      state: 'paused',
      pause_reason: 'ab_waiting',
      content: { a: { subject: 'A', preheader: '', blocks: [] }, b: { subject: 'B', preheader: '', blocks: [] } },
      audience: { filter: { combine: 'all', conditions: [] }, control_percent: 10, ab: { sample_percent: 20, metric: 'manual', wait_days: 3 }, results_days: 14 },
    });
    const { getByTestId, findByText } = render(CampaignFollowUp, { props: { campaign: c, changed: () => {} } });
    await findByText(/Version B : 20 destinataires, 4 acheteurs/);
    await fireEvent.click(getByTestId('campaign-winner-b'));
    await waitFor(() => expect(calls.find((x) => x.cmd === 'campaign_choose_winner')?.args?.variant).toBe('b'));
  });
});

describe('sending settings', () => {
  const view: MailSettingsView = {
    settings: {
      sender_name: 'Boutique Léa',
      sender_email: 'lea@exemple.test',
      reply_to: '',
      postal_address: '12 rue des Lilas',
      language: 'fr',
      delivery: 'outbox',
      smtp: {
        preset: 'gmail',
        host: 'smtp.gmail.com',
        port: 465,
        tls: 'tls',
        username: 'lea@example.com',
        limits: { per_second: 1, per_minute: 20, per_day: 500, connections: 2 },
      },
    },
    presets: [
      {
        preset: 'gmail',
        label: 'Gmail',
        host: 'smtp.gmail.com',
        port: 465,
        tls: 'tls',
        limits: { per_second: 1, per_minute: 20, per_day: 500, connections: 2 },
        app_password: true,
      },
      {
        preset: 'brevo',
        label: 'Brevo',
        host: 'smtp-relay.brevo.com',
        port: 587,
        tls: 'start_tls',
        limits: { per_second: 5, per_minute: 120, per_day: 300, connections: 4 },
        app_password: false,
      },
      {
        preset: 'custom',
        label: '',
        host: '',
        port: 587,
        tls: 'start_tls',
        limits: { per_second: 5, per_minute: 300, per_day: 10_000, connections: 4 },
        app_password: false,
      },
    ],
    password: 'keychain',
    outbox_dir: '/home/lea/outbox',
  };

  it('a preset fills the server, the password stays hidden, a failed test is explained', async () => {
    answer = (cmd) =>
      cmd === 'mail_settings_get'
        ? view
        : cmd === 'mail_test_connection'
          ? { ok: false, problem: 'port_blocked', detail: 'Connection refused (os error 111)' }
          : cmd === 'mail_settings_save'
            ? view
            : null;
    const { findByTestId, getByTestId } = render(MailSettings);
    await findByTestId('mail-sender-name');
    expect(getByTestId('mail-outbox-dir').textContent, 'the outbox folder is shown').toBe('/home/lea/outbox');
    await fireEvent.click(getByTestId('mail-delivery-smtp'));
    const password = (await findByTestId('mail-password')) as HTMLInputElement;
    expect(password.value, 'the password is never shown back').toBe('');
    expect(password.placeholder, 'it says where the password is kept').toContain('trousseau');
    expect(getByTestId('mail-app-password').textContent, 'Gmail needs an app password').toContain("mot de passe d'application");

    const preset = getByTestId('mail-preset') as HTMLSelectElement;
    preset.value = 'brevo';
    await fireEvent.change(preset);
    expect((getByTestId('mail-host') as HTMLInputElement).value, 'the preset fills the server').toBe('smtp-relay.brevo.com');
    expect((getByTestId('mail-port') as HTMLInputElement).value, 'and the port').toBe('587');

    await fireEvent.click(getByTestId('mail-test'));
    await waitFor(() => expect(getByTestId('mail-test-result').textContent).toContain('465 pour TLS, 587 pour STARTTLS'));
    expect(getByTestId('mail-test-result').textContent, "the server's words are there too").toContain('os error 111');
    const test = calls.find((c) => c.cmd === 'mail_test_connection');
    expect(test?.args?.password, 'no password typed: none sent').toBeNull();

    (getByTestId('mail-password') as HTMLInputElement).value = 's3cret';
    await fireEvent.input(getByTestId('mail-password'));
    await fireEvent.click(getByTestId('mail-save'));
    await waitFor(() => expect(calls.find((c) => c.cmd === 'mail_settings_save')?.args?.password).toBe('s3cret'));
  });
});

describe('unsubscribes', () => {
  it('pasted lines are recorded and the unknown ones listed', async () => {
    answer = (cmd) => (cmd === 'unsubscribes_apply' ? outcome({ recorded: 2, already: 1, unknown: ['zoe@nulle-part.invalid'] }) : null);
    const { getByTestId, findByTestId } = render(Unsubscribes);
    const area = getByTestId('unsub-text') as HTMLTextAreaElement;
    area.value = 'unsubscribe abc\nmarie@exemple.test\nzoe@nulle-part.invalid';
    await fireEvent.input(area);
    await fireEvent.click(getByTestId('unsub-apply'));
    const report = await findByTestId('unsub-report');
    expect(plain(report.textContent), 'recorded, already, unknown').toContain('2 clients désinscrits');
    expect(plain(report.textContent)).toContain("1 l'étaient déjà");
    expect(plain(report.textContent)).toContain('zoe@nulle-part.invalid');
  });
});

describe('customer timeline', () => {
  it('an email sent names the campaign and links to it', () => {
    const { container } = render(TimelineItem, {
      props: {
        entry: { at: '2026-11-02T10:00:00Z', type: 'email_sent', campaign_id: 7, campaign: 'Novembre', variant: null },
        changed: () => {},
      },
    });
    expect(plain(container.textContent), 'what was sent, in words').toContain('E-mail envoyé : campagne « Novembre »');
    expect(container.querySelector('a')?.getAttribute('href'), 'a link to the campaign').toBe('#/campaigns/7');
  });

  it('a consent withdrawn by unsubscribing says so', () => {
    const { container } = render(TimelineItem, {
      props: {
        entry: { at: '2026-11-02T10:00:00Z', type: 'consent', choice: 'refused', source: 'unsubscribe', wording: null },
        changed: () => {},
      },
    });
    expect(plain(container.textContent), 'the source is shown in words').toContain('par une désinscription');
  });
});
