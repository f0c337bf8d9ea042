// The deliverability pieces against a mocked backend: the domain check (states, records to add,
// copy, "could not check", a bad selector), the Outlook notice on its preset, and the content
// check before sending (findings, and "send now"/"schedule" closed while something blocks).
import { cleanup, fireEvent, render, waitFor } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CampaignContent } from '$lib/generated/CampaignContent';
import type { ContentReport } from '$lib/generated/ContentReport';
import type { DomainReport } from '$lib/generated/DomainReport';
import type { MailSettings as Settings } from '$lib/generated/MailSettings';
import type { MailSettingsView } from '$lib/generated/MailSettingsView';
import { prefs } from '$lib/prefs.svelte';
import { findingText, groupFindings, say } from './deliverability';

const calls: { cmd: string; args: Record<string, unknown> | undefined }[] = [];
let answer: (cmd: string, args: Record<string, unknown> | undefined) => unknown = () => null;

vi.mock('@tauri-apps/api/core', () => ({
  invoke: async (cmd: string, args?: Record<string, unknown>) => {
    calls.push({ cmd, args });
    const a = answer(cmd, args);
    if (a instanceof Error) throw { code: 'validation', message: 'Saisie invalide', fields: [{ field: 'selector', message: a.message }] };
    return a;
  },
}));

const { default: DomainCheck } = await import('./DomainCheck.svelte');
const { default: MailSettings } = await import('./MailSettings.svelte');
const { default: CampaignLaunch } = await import('./CampaignLaunch.svelte');
const { default: ContentCheck } = await import('./ContentCheck.svelte');

const plain = (s: string | null | undefined) => (s ?? '').replace(/[\u00a0\u202f]/g, ' ').replace(/\s+/g, ' ');

const settings: Settings = {
  sender_name: 'Boulangerie Léa',
  sender_email: 'lea@boulangerie.test',
  reply_to: '',
  postal_address: '3 rue des Lilas',
  language: 'fr',
  delivery: 'smtp',
  smtp: {
    preset: 'gmail',
    host: 'smtp.gmail.com',
    port: 465,
    tls: 'tls',
    username: 'lea@boulangerie.test',
    limits: { per_second: 1, per_minute: 20, per_day: 500, connections: 2 },
  },
};

const problemReport: DomainReport = {
  domain: 'boulangerie.test',
  provider: 'Google Workspace',
  level: 'problem',
  offline: false,
  notes: [],
  checks: [
    {
      kind: 'spf',
      level: 'problem',
      said: {
        key: 'deliverability.spf.provider_missing',
        args: [
          ['provider', 'Google Workspace'],
          ['include', '_spf.google.com'],
        ],
      },
      more: [],
      name: 'boulangerie.test',
      found: ['v=spf1 include:mx.ovh.com ~all'],
      fixes: [
        {
          record_type: 'TXT',
          name: 'boulangerie.test',
          value: 'v=spf1 include:mx.ovh.com include:_spf.google.com ~all',
          replaces: true,
          note: null,
        },
      ],
      how: null,
    },
    {
      kind: 'dkim',
      level: 'ok',
      said: { key: 'deliverability.dkim.ok', args: [['selector', 'google']] },
      more: [],
      name: 'google._domainkey.boulangerie.test',
      found: ['v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8…'],
      fixes: [],
      how: null,
    },
    {
      kind: 'dmarc',
      level: 'warning',
      said: { key: 'deliverability.dmarc.missing', args: [] },
      more: [],
      name: '_dmarc.boulangerie.test',
      found: [],
      fixes: [{ record_type: 'TXT', name: '_dmarc.boulangerie.test', value: 'v=DMARC1; p=none', replaces: false, note: null }],
      how: null,
    },
  ],
};

beforeEach(() => {
  prefs.lang = 'fr';
  prefs.locale = 'fr-FR';
  prefs.currency = 'EUR';
  calls.length = 0;
});
afterEach(cleanup);

describe('helpers', () => {
  it('a core sentence is translated with its arguments', () => {
    const s = say({ key: 'deliverability.spf.ok', args: [['provider', 'Brevo']] });
    expect(s).toBe('Votre SPF autorise Brevo à envoyer pour votre domaine.');
    prefs.lang = 'en';
    expect(say({ key: 'deliverability.spf.ok', args: [['provider', 'Brevo']] })).toBe('Your SPF authorises Brevo to send for your domain.');
  });
  it('findings are split into blocking and advice, each version named', () => {
    const findings: ContentReport['findings'] = [
      { code: 'link_shortener', severity: 'block', said: { key: 'deliverability.content.link_shortener', args: [['host', 'bit.ly']] }, variant: 'b' },
      { code: 'subject_capitals', severity: 'warn', said: { key: 'deliverability.content.subject_capitals', args: [['percent', '100']] }, variant: null },
    ];
    const g = groupFindings(findings);
    expect(g.block.map((f) => f.code)).toEqual(['link_shortener']);
    expect(g.warn.map((f) => f.code)).toEqual(['subject_capitals']);
    expect(findingText(findings[0])).toMatch(/^Version B : Le message contient un lien raccourci \(bit\.ly\)/);
    expect(findingText(findings[1])).toMatch(/^L'objet est à 100 % en capitales/);
  });
});

describe('domain check', () => {
  it('shows each record with its state and the records to add, copyable', async () => {
    answer = (cmd) => (cmd === 'mail_domain_check' ? problemReport : null);
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const { getByTestId, findByTestId, getAllByTestId, getByLabelText } = render(DomainCheck, { settings: () => settings });
    await fireEvent.input(getByLabelText('Sélecteur DKIM (facultatif)'), { target: { value: ' google ' } });
    await fireEvent.click(getByTestId('domain-check'));
    const summary = await findByTestId('domain-summary');
    expect(plain(summary.textContent)).toContain('boulangerie.test a un réglage à corriger');
    expect(calls.find((c) => c.cmd === 'mail_domain_check')?.args).toEqual({ input: settings, selector: 'google' });

    const records = getAllByTestId('domain-record');
    expect(records.map((r) => [r.dataset.kind, r.dataset.level])).toEqual([
      ['spf', 'problem'],
      ['dkim', 'ok'],
      ['dmarc', 'warning'],
    ]);
    expect(plain(records[0].textContent)).toContain("Votre SPF n'autorise pas Google Workspace");
    expect(plain(records[0].textContent)).toContain('À corriger');
    expect(plain(records[0].textContent), 'what is published now').toContain('v=spf1 include:mx.ovh.com ~all');
    expect(plain(records[0].textContent), 'it replaces the current record').toContain("Remplacer l'enregistrement actuel");
    expect(plain(records[2].textContent)).toContain('Ajouter cet enregistrement');

    const copy = getAllByTestId('fix-copy')[0];
    expect(copy.getAttribute('aria-label')).toBe('Copier la valeur de boulangerie.test');
    await fireEvent.click(copy);
    expect(writeText).toHaveBeenCalledWith('v=spf1 include:mx.ovh.com include:_spf.google.com ~all');
    await waitFor(() => expect(copy.textContent).toBe('Copié'));
  });

  it('says "could not check" when the DNS does not answer, never that all is fine', async () => {
    const unknown: DomainReport = {
      ...problemReport,
      level: 'unknown',
      offline: true,
      checks: problemReport.checks.map((c) => ({
        ...c,
        level: 'unknown',
        said: { key: `deliverability.${c.kind}.unknown`, args: [] },
        found: [],
        fixes: [],
      })),
    };
    answer = (cmd) => (cmd === 'mail_domain_check' ? unknown : null);
    const { getByTestId, findByTestId, getAllByTestId } = render(DomainCheck, { settings: () => settings });
    await fireEvent.click(getByTestId('domain-check'));
    const summary = await findByTestId('domain-summary');
    expect(plain(summary.textContent)).toContain('Impossible de vérifier boulangerie.test : la recherche DNS n\'a pas répondu');
    expect(plain(summary.textContent)).not.toContain('Tout est en place');
    expect(getAllByTestId('domain-record').map((r) => plain(r.textContent))).toEqual([
      expect.stringContaining('Non vérifié'),
      expect.stringContaining('Non vérifié'),
      expect.stringContaining('Non vérifié'),
    ]);
  });

  it('a refused selector is explained next to its field', async () => {
    answer = (cmd) => (cmd === 'mail_domain_check' ? new Error('Un sélecteur DKIM ne contient que des lettres') : null);
    const { getByTestId, findByText } = render(DomainCheck, { settings: () => settings });
    await fireEvent.click(getByTestId('domain-check'));
    await findByText('Un sélecteur DKIM ne contient que des lettres');
    expect(getByTestId('domain-selector').getAttribute('aria-invalid')).toBe('true');
  });
});

describe('sending settings', () => {
  const view: MailSettingsView = {
    settings: { ...settings, delivery: 'smtp' },
    presets: [
      { preset: 'gmail', label: 'Gmail', host: 'smtp.gmail.com', port: 465, tls: 'tls', limits: settings.smtp.limits, app_password: true },
      {
        preset: 'outlook',
        label: 'Outlook / Microsoft 365',
        host: 'smtp.office365.com',
        port: 587,
        tls: 'start_tls',
        limits: { per_second: 1, per_minute: 30, per_day: 300, connections: 2 },
        app_password: true,
      },
    ],
    password: null,
    outbox_dir: '/home/lea/outbox',
  };

  it('the Outlook preset says Microsoft is retiring password sign-in, and what to do instead', async () => {
    answer = (cmd) => (cmd === 'mail_settings_get' ? view : null);
    const { findByTestId, getByTestId, queryByTestId } = render(MailSettings);
    await findByTestId('mail-preset');
    expect(queryByTestId('mail-outlook-notice'), 'not for Gmail').toBeNull();
    const preset = getByTestId('mail-preset') as HTMLSelectElement;
    preset.value = 'outlook';
    await fireEvent.change(preset);
    const notice = plain((await findByTestId('mail-outlook-notice')).textContent);
    expect(notice).toContain('Microsoft retire la connexion par mot de passe');
    expect(notice, 'what Microsoft announced, named').toContain('MC786329');
    expect(notice, 'what to do instead').toContain('Brevo, Mailjet');
    expect(getByTestId('domain-check'), 'the domain check sits in the sending settings').toBeTruthy();
  });

  it('the free-mail refusal is shown next to the sender address', async () => {
    // A validation error on the sender address, as the core sends it.
    answer = (cmd) =>
      cmd === 'mail_settings_get'
        ? view
        : cmd === 'mail_settings_save'
          ? Promise.reject({
              code: 'validation',
              message: 'Une adresse gmail.com ne peut partir que par le serveur de Gmail',
              fields: [{ field: 'sender_email', message: 'Une adresse gmail.com ne peut partir que par le serveur de Gmail' }],
            })
          : null;
    const { findByTestId, getByTestId, container } = render(MailSettings);
    await findByTestId('mail-sender-email');
    await fireEvent.click(getByTestId('mail-save'));
    await waitFor(() => expect(container.querySelector('[data-error-for="sender_email"]')?.textContent).toContain('serveur de Gmail'));
    expect(getByTestId('mail-sender-email').getAttribute('aria-invalid')).toBe('true');
  });
});

describe('content check before sending', () => {
  const content: CampaignContent = {
    a: { subject: 'SOLDES MONSTRES', preheader: '', blocks: [{ type: 'text', markdown: 'Voir https://bit.ly/x' }] },
    b: null,
  };
  const blocked: ContentReport = {
    blocking: true,
    findings: [
      { code: 'link_shortener', severity: 'block', said: { key: 'deliverability.content.link_shortener', args: [['host', 'bit.ly']] }, variant: null },
      { code: 'subject_capitals', severity: 'warn', said: { key: 'deliverability.content.subject_capitals', args: [['percent', '100']] }, variant: null },
    ],
  };

  it('lists what blocks and what is advice, and closes "send now" and "schedule"', async () => {
    answer = (cmd) => (cmd === 'campaign_content_check' ? blocked : null);
    const { findByTestId, getByTestId } = render(CampaignLaunch, {
      current: null,
      content,
      busy: false,
      mail: null,
      recipients: 12,
      split: null,
      controlGroup: null,
      ensureSaved: async () => null,
      accept: () => undefined,
    });
    const blocking = await findByTestId('content-blocking');
    expect(plain(blocking.textContent)).toContain('Le message contient un lien raccourci (bit.ly)');
    expect(plain(getByTestId('content-warnings').textContent)).toContain("L'objet est à 100 % en capitales");
    expect(calls.find((c) => c.cmd === 'campaign_content_check')?.args).toEqual({ content });
    await waitFor(() => expect((getByTestId('campaign-send-now') as HTMLButtonElement).disabled).toBe(true));
    expect((getByTestId('campaign-schedule') as HTMLButtonElement).disabled).toBe(true);
  });

  it('a clean message says so and leaves sending open', async () => {
    answer = (cmd) => (cmd === 'campaign_content_check' ? { blocking: false, findings: [] } : null);
    const { findByTestId, getByTestId } = render(CampaignLaunch, {
      current: null,
      content: { a: { subject: 'Les croissants', preheader: '', blocks: [] }, b: null },
      busy: false,
      mail: null,
      recipients: 12,
      split: null,
      controlGroup: null,
      ensureSaved: async () => null,
      accept: () => undefined,
    });
    expect(plain((await findByTestId('content-ok')).textContent)).toContain('Rien à signaler');
    expect((getByTestId('campaign-send-now') as HTMLButtonElement).disabled).toBe(false);
  });

  it('checks again after a change, once the typing stops, and keeps only the latest answer', async () => {
    let n = 0;
    answer = (cmd) => {
      if (cmd !== 'campaign_content_check') return null;
      n += 1;
      return n === 1 ? blocked : { blocking: false, findings: [] };
    };
    const { findByTestId, rerender, getByTestId } = render(ContentCheck, { content, delay: 10 });
    await findByTestId('content-blocking');
    await rerender({ content: { a: { ...content.a, subject: 'Soldes' }, b: null }, delay: 10 });
    await findByTestId('content-ok');
    expect(getByTestId('content-check').dataset.blocking).toBe('false');
  });
});
