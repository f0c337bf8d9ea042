// The "Retours" screen and the mailbox settings mounted against a mocked backend: why campaigns
// wait, "read now", a STOP confirmed in one click, a suppression lifted only with a reason, raw
// reports shown as inert text, and the IMAP connection test explained.
import { cleanup, fireEvent, render, waitFor } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MailboxEntry } from '$lib/generated/MailboxEntry';
import type { MailboxSettingsView } from '$lib/generated/MailboxSettingsView';
import type { MailboxStatus } from '$lib/generated/MailboxStatus';
import { prefs } from '$lib/prefs.svelte';

const calls: { cmd: string; args: Record<string, unknown> | undefined }[] = [];
let answer: (cmd: string, args: Record<string, unknown> | undefined) => unknown = () => null;

vi.mock('@tauri-apps/api/core', () => ({
  invoke: async (cmd: string, args?: Record<string, unknown>) => {
    calls.push({ cmd, args });
    const out = answer(cmd, args);
    if (out instanceof Error) throw { code: 'validation', message: out.message, fields: [] };
    return out;
  },
}));

const { default: Returns } = await import('./Returns.svelte');
const { default: MailboxSettings } = await import('./MailboxSettings.svelte');

const outcome = <T>(value: T) => ({ value, changes: {}, replayed: false });
const plain = (s: string | null | undefined) => (s ?? '').replace(/[\u00a0\u202f]/g, ' ').replace(/\s+/g, ' ');

const status = (patch: Partial<MailboxStatus>): MailboxStatus => ({
  configured: true,
  reading_required: true,
  last_success: '2026-11-20T08:00:00Z',
  last_run: null,
  sending_blocked: true,
  hours_since: 74,
  pending_stops: 1,
  suppressed: 1,
  ...patch,
});

const entry: MailboxEntry = {
  id: 3,
  kind: 'hard_bounce',
  decision: 'suppressed',
  reason: null,
  source: 'imap',
  folder: 'INBOX',
  from: 'mailer-daemon@example.net',
  subject: '<img src=x onerror=alert(1)>',
  email: 'paul@example.org',
  customer_id: 4,
  campaign_id: 1,
  matched_by: 'message_id',
  status: '5.1.1',
  diagnostic: 'User unknown',
  has_raw: true,
  raw_size: 900,
  moved_to: null,
  read_at: '2026-11-23T08:00:00Z',
};

function backend(cmd: string, args: Record<string, unknown> | undefined): unknown {
  switch (cmd) {
    case 'mailbox_status':
      return status({});
    case 'mailbox_read_now':
      return [{ source: 'imap', ok: true, problem: null, detail: '', fetched: 4, handled: 2, at: '2026-11-23T10:00:00Z' }];
    case 'mailbox_stop_requests':
      return [{ id: 9, email: 'lucie@example.org', customer_id: 5, customer_name: 'Lucie Martin', excerpt: 'STOP merci', subject: 'Re: Noël', received_at: '2026-11-23T08:00:00Z' }];
    case 'mailbox_stop_confirm':
      return outcome(null);
    case 'mailbox_test_readbacks':
      return [];
    case 'mailbox_log':
      return [entry];
    case 'mailbox_raw':
      return '<script>alert(1)</script> Status: 5.1.1';
    case 'suppressions_list':
      return { items: [{ email: 'paul@example.org', reason: 'hard_bounce', source: 'bounce', detail: '5.1.1 User unknown', customer_id: 4, campaign_id: 1, at: '2026-11-23T08:00:00Z' }], total: 1 };
    case 'suppression_lift':
      return (args?.reason as string) ? outcome(null) : new Error('reason');
    default:
      return null;
  }
}

beforeEach(() => {
  calls.length = 0;
  prefs.lang = 'fr';
  answer = backend;
});
afterEach(() => cleanup());

describe('Retours', () => {
  it('says why campaigns wait, and reads now', async () => {
    const { findByTestId, getByTestId } = render(Returns);
    const banner = await findByTestId('mailbox-status');
    expect(banner.dataset.blocked).toBe('true');
    expect(plain(banner.textContent), 'the age of the last reading and the 48-hour rule').toContain('74 heures');
    await fireEvent.click(getByTestId('mailbox-read-now'));
    const reports = await findByTestId('mailbox-reports');
    expect(plain(reports.textContent)).toContain('4 message(s) lu(s), 2 traité(s)');
  });

  it('a STOP is confirmed in one click', async () => {
    const { findAllByTestId } = render(Returns);
    const [confirm] = await findAllByTestId('mailbox-stop-confirm');
    await fireEvent.click(confirm);
    await waitFor(() => expect(calls.find((c) => c.cmd === 'mailbox_stop_confirm')?.args?.id).toBe(9));
    expect(typeof calls.find((c) => c.cmd === 'mailbox_stop_confirm')?.args?.key, 'with an idempotency key').toBe('string');
  });

  it('the raw report and hostile subjects are shown as text', async () => {
    const { findAllByTestId, container, findByTestId } = render(Returns);
    const [row] = await findAllByTestId('mailbox-entry');
    expect(container.querySelector('img'), 'a subject holding HTML is not markup').toBeNull();
    await fireEvent.click(row.querySelector('button.link') as HTMLButtonElement);
    const raw = await findByTestId('mailbox-raw');
    expect(raw.textContent).toContain('<script>alert(1)</script>');
    expect(container.querySelector('script')).toBeNull();
  });

  it('lifting a suppression needs a reason', async () => {
    const { findAllByTestId, getByTestId, findByText } = render(Returns);
    const [lift] = await findAllByTestId('suppression-lift');
    await fireEvent.click(lift);
    await fireEvent.click(getByTestId('lift-confirm'));
    await findByText('Ce champ est obligatoire.');
    expect(calls.some((c) => c.cmd === 'suppression_lift'), 'nothing sent without a reason').toBe(false);
    const input = getByTestId('lift-reason') as HTMLInputElement;
    input.value = 'Redonné son accord en boutique';
    await fireEvent.input(input);
    await fireEvent.click(getByTestId('lift-confirm'));
    await waitFor(() => expect(calls.find((c) => c.cmd === 'suppression_lift')?.args?.reason).toBe('Redonné son accord en boutique'));
  });
});

describe('mailbox settings', () => {
  const view: MailboxSettingsView = {
    settings: {
      imap_enabled: false,
      imap: { preset: 'custom', host: '', port: 993, tls: 'tls', username: '', folders: ['INBOX'], move_to: '' },
      api: null,
      api_url: '',
    },
    presets: [
      { preset: 'orange', host: 'imap.orange.fr', port: 993, tls: 'tls', api: null },
      { preset: 'custom', host: '', port: 993, tls: 'tls', api: null },
    ],
    password: null,
    api_key: null,
  };

  it('a preset fills the IMAP server, a failed test is explained, the password is never shown', async () => {
    answer = (cmd) =>
      cmd === 'mailbox_settings_get'
        ? view
        : cmd === 'mailbox_test_connection'
          ? { ok: false, problem: 'app_password_needed', detail: 'NO [ALERT] Application-specific password required' }
          : null;
    const { findByTestId, getByTestId, findByText } = render(MailboxSettings);
    await fireEvent.click(await findByTestId('mailbox-enabled'));
    const preset = getByTestId('mailbox-preset') as HTMLSelectElement;
    preset.value = 'orange';
    await fireEvent.change(preset);
    expect((getByTestId('mailbox-host') as HTMLInputElement).value).toBe('imap.orange.fr');
    const pw = getByTestId('mailbox-password') as HTMLInputElement;
    expect(pw.type).toBe('password');
    pw.value = 's3cret';
    await fireEvent.input(pw);
    await fireEvent.click(getByTestId('mailbox-test'));
    await findByText(/validation en deux étapes/);
    expect(calls.find((c) => c.cmd === 'mailbox_test_connection')?.args?.password).toBe('s3cret');
  });
});
