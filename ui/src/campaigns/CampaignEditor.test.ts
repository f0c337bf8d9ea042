// The campaign editor mounted against a mocked backend: personal-field chips go to the caret,
// the live count and the send confirmation agree, the test address defaults to the sender's.
import { cleanup, fireEvent, render, waitFor } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Campaign } from '$lib/generated/Campaign';
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

const { default: CampaignEditor } = await import('./CampaignEditor.svelte');

const mail: MailSettingsView = {
  settings: {
    sender_name: 'Boutique Léa',
    sender_email: 'lea@exemple.test',
    reply_to: '',
    postal_address: '12 rue des Lilas\n75011 Paris',
    language: 'fr',
    delivery: 'outbox',
    smtp: {
      preset: 'custom',
      host: '',
      port: 587,
      tls: 'start_tls',
      username: '',
      limits: { per_second: 5, per_minute: 300, per_day: 10_000, connections: 4 },
    },
  },
  presets: [],
  password: null,
  outbox_dir: '/home/lea/Comptoir/outbox',
};

function campaign(state: Campaign['state']): Campaign {
  return {
    id: 7,
    name: 'Novembre',
    state,
    content: { a: { subject: 'Bonjour', preheader: '', blocks: [] }, b: null },
    audience: { filter: { combine: 'all', conditions: [] }, control_percent: 10, ab: null, results_days: 14 },
    scheduled_at: null,
    missed: false,
    pause_reason: null,
    pause_detail: null,
    resume_at: null,
    started_at: null,
    sample_done_at: null,
    ab_winner: null,
    finished_at: null,
    created_at: '2026-11-01T10:00:00Z',
    updated_at: '2026-11-01T10:00:00Z',
    progress: { total: 0, sent: 0, waiting: 0, failed: 0, skipped: 0, control: 0 },
    tests: [],
  };
}

const outcome = <T>(value: T) => ({ value, changes: {}, replayed: false });

beforeEach(() => {
  prefs.lang = 'fr';
  prefs.locale = 'fr-FR';
  prefs.currency = 'EUR';
  calls.length = 0;
  answer = (cmd) => {
    switch (cmd) {
      case 'campaign_templates':
        return [];
      case 'mail_settings_get':
        return mail;
      case 'segments_list':
        return [];
      case 'settings_get':
        return { country: 'FR' };
      case 'loyalty_programme_get':
        return { tiers: null };
      case 'segment_count':
        return { matching: 312, eligible: 248, excluded: [{ reason: 'no_consent', count: 64 }], asked_recently: 28 };
      case 'campaign_preview':
        return { subject: 'Bonjour Marie', preheader: '', text: 'Bonjour Marie', url: 'about:blank' };
      case 'campaign_create':
        return outcome(campaign('draft'));
      case 'campaign_start':
        return outcome(campaign('running'));
      default:
        return null;
    }
  };
});
afterEach(cleanup);

describe('CampaignEditor', () => {
  it('a chip goes where the caret is in the text being written', async () => {
    const { getByTestId } = render(CampaignEditor, { props: { initial: null, changed: () => {} } });
    await fireEvent.click(getByTestId('block-add-text'));
    const area = getByTestId('block-text') as HTMLTextAreaElement;
    area.value = 'Bonjour !';
    await fireEvent.input(area);
    area.focus();
    area.setSelectionRange(8, 8);
    await fireEvent.click(getByTestId('field-chip-first_name'));
    expect(area.value, 'the field is inserted at the caret of the focused text').toBe('Bonjour {{ first_name }}!');
  });

  it('the live count says how many may receive it, and the confirmation how many will', async () => {
    const changed = vi.fn();
    const { getByTestId, findByTestId } = render(CampaignEditor, { props: { initial: null, changed } });
    const count = await findByTestId('segment-count', {}, { timeout: 2000 });
    expect(count.textContent?.replace(/\s+/g, ' '), 'matching · eligible · excluded').toContain(
      '312 clients correspondent · 248 peuvent recevoir le message · 64 exclus',
    );

    const name = getByTestId('campaign-name') as HTMLInputElement;
    name.value = 'Novembre';
    await fireEvent.input(name);
    const subject = getByTestId('campaign-subject') as HTMLInputElement;
    subject.value = 'Bonjour';
    await fireEvent.input(subject);

    await fireEvent.click(getByTestId('campaign-send-now'));
    const confirm = await findByTestId('send-confirm');
    expect(calls.some((c) => c.cmd === 'campaign_create'), 'the campaign is saved before the question').toBe(true);
    expect(confirm.textContent, '248 eligible less a 10 % control group: 224 receive it').toContain('224 clients');
    expect(confirm.textContent, 'no provider: the outbox folder is named').toContain('/home/lea/Comptoir/outbox');

    await fireEvent.click(getByTestId('confirm-send'));
    await waitFor(() => expect(changed).toHaveBeenLastCalledWith(expect.objectContaining({ state: 'running' })));
    const start = calls.find((c) => c.cmd === 'campaign_start');
    expect(start?.args?.id, 'the saved campaign is started').toBe(7);
    expect(typeof start?.args?.key, 'with an idempotency key').toBe('string');
  });

  it('a message asking the satisfaction question leaves out those asked in 90 days', async () => {
    const { getByTestId, findByTestId } = render(CampaignEditor, { props: { initial: null, changed: () => {} } });
    await findByTestId('segment-count', {}, { timeout: 2000 });
    await fireEvent.click(getByTestId('block-add-survey'));
    const note = await findByTestId('survey-asked-recently');
    expect(note.textContent, 'the audience says who is left out').toContain('28 clients déjà interrogés');
    for (const [id, v] of [['campaign-name', 'Avis'], ['campaign-subject', 'Votre avis']]) {
      const el = getByTestId(id) as HTMLInputElement;
      el.value = v;
      await fireEvent.input(el);
    }
    await fireEvent.click(getByTestId('campaign-send-now'));
    const confirm = await findByTestId('send-confirm');
    expect(confirm.textContent, '248 eligible less 28 asked lately, less a 10 % control group: 198').toContain('198 clients');
  });

  it('the test address defaults to the sender address', async () => {
    const { getByTestId } = render(CampaignEditor, { props: { initial: campaign('draft'), changed: () => {} } });
    await waitFor(() => expect((getByTestId('test-email') as HTMLInputElement).value).toBe('lea@exemple.test'));
  });
});
