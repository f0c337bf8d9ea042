// End-to-end: a merchant writes a newsletter with a personal field, previews it with a real
// customer, sends a test to themselves, then sends it to everyone who agreed through an SMTP
// server on loopback (Debian's python3-aiosmtpd, writing a Maildir), watches the progress and
// opens the results. The messages the server received are read back and checked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, stopApp, browser, shot, go, visible, waitForText, invoke, fill, texts } from './harness.mjs';

let smtp;
let mailDir;
let port;

function freePort() {
  return new Promise((ok, ko) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => ok(p));
    });
    s.on('error', ko);
  });
}

function received() {
  const dirs = ['new', 'cur'].map((d) => join(mailDir, 'box', d)).filter(existsSync);
  return dirs.flatMap((d) => readdirSync(d).map((f) => readFileSync(join(d, f), 'utf8')));
}

async function waitForMessages(n) {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (received().length >= n) return received();
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the SMTP server received ${received().length} messages, expected ${n}`);
}

/** The text of a message's parts, decoded (quoted-printable or base64, UTF-8), to search. */
function plain(raw) {
  const qp = raw.replace(/=\r?\n/g, '');
  const bytes = [];
  for (let i = 0; i < qp.length; i++) {
    if (qp[i] === '=' && /^[0-9A-F]{2}$/.test(qp.slice(i + 1, i + 3))) {
      bytes.push(parseInt(qp.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(qp[i], 'utf8'));
    }
  }
  let text = Buffer.from(bytes).toString('utf8');
  for (const [, b64] of raw.matchAll(/Content-Transfer-Encoding: base64\r?\n\r?\n([A-Za-z0-9+/=\r\n]+)/g)) {
    text += Buffer.from(b64.replace(/\s/g, ''), 'base64').toString('utf8');
  }
  return text;
}

before(async () => {
  mailDir = mkdtempSync(join(tmpdir(), 'comptoir-smtp-'));
  port = await freePort();
  smtp = spawn('/usr/bin/python3', ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', join(mailDir, 'box')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await startApp();
});

after(async () => {
  await stopApp();
  smtp?.kill();
  if (mailDir) rmSync(mailDir, { recursive: true, force: true });
});

const consent = { choice: 'express', source: 'counter', wording: "J'accepte de recevoir la lettre d'information." };
function newCustomer(first, last, email, c) {
  return {
    customer: {
      first_name: first, last_name: last, email, phone: '', birthday: null, language: null, tags: [],
      address: { line1: '', line2: '', postcode: '', city: '', country: null },
    },
    consent: c, note: '',
  };
}

test('the shop and three customers, two of whom agreed to receive news', async () => {
  await visible('#start-empty', 20_000);
  await (await browser.$('#start-empty')).click();
  await invoke('customer_create', { input: newCustomer('Zoé', '<script>Dupré</script>', 'zoe@example.com', consent), key: 'e2e-zoe-0001' });
  await invoke('customer_create', { input: newCustomer('Émile', 'Roux', 'emile@example.com', consent), key: 'e2e-emile-001' });
  await invoke('customer_create', {
    input: newCustomer('Refus', 'Non', 'non@example.com', { ...consent, choice: 'refused' }),
    key: 'e2e-refus-001',
  });
});

test('sending settings: identity, postal address, and a local SMTP server that answers the test', async () => {
  await go('#/campaigns/settings');
  await fill('[data-testid="mail-sender-name"]', 'Boutique Léa');
  await fill('[data-testid="mail-sender-email"]', 'lea@boutique.test');
  await fill('[data-testid="mail-postal"]', '3 rue des Lilas, 69001 Lyon');
  await (await visible('[data-testid="mail-delivery-smtp"]')).click();
  await (await visible('[data-testid="mail-preset"]')).selectByAttribute('value', 'custom');
  await fill('[data-testid="mail-host"]', '127.0.0.1');
  await fill('[data-testid="mail-port"]', String(port));
  await (await visible('[data-testid="mail-tls"]')).selectByAttribute('value', 'none');
  await (await visible('[data-testid="mail-test"]')).click();
  await waitForText('[data-testid="mail-test-result"]', 'réussi', 20_000).catch(async (e) => {
    throw new Error(`${e.message}: ${(await texts('[data-testid="mail-test-result"]')).join(' | ')}`);
  });
  await shot('60-mail-settings');
  await (await visible('[data-testid="mail-save"]')).click();
  await visible('[data-testid="mail-saved"]');
  const saved = await invoke('mail_settings_get', {});
  assert.equal(saved.settings.delivery, 'smtp', 'the SMTP provider is saved');
  assert.equal(saved.settings.smtp.port, port);
});

test('a bad port is explained in words a merchant can act on', async () => {
  const closed = await freePort();
  const check = await invoke('mail_test_connection', {
    input: { ...(await invoke('mail_settings_get', {})).settings, smtp: { ...(await invoke('mail_settings_get', {})).settings.smtp, port: closed } },
    password: null,
  });
  assert.equal(check.ok, false);
  assert.equal(check.problem, 'port_blocked', `a closed port is a blocked port: ${check.detail}`);
});

test('write a newsletter with a personal field and preview it with a real customer', async () => {
  await go('#/campaigns');
  await (await visible('[data-testid="campaign-new"]')).click();
  await fill('[data-testid="campaign-name"]', 'Nouveautés de novembre');
  await fill('[data-testid="campaign-subject"]', 'Du nouveau à la boutique');
  await (await visible('[data-testid="block-add-text"]')).click();
  const text = await visible('[data-testid="block-text"]');
  await text.click();
  await text.setValue('Bonjour ');
  await (await visible('[data-testid="field-chip-first_name"]')).click();
  await browser.waitUntil(
    async () => (await (await browser.$('[data-testid="block-text"]')).getValue()).includes('{{ first_name }}'),
    { timeout: 5_000, timeoutMsg: 'the first-name chip did not insert {{ first_name }}' },
  );
  await (await browser.$('[data-testid="block-text"]')).addValue(', la collection **hiver** est arrivée.');
  await fill('[data-testid="preview-customer-search"]', 'Zoé');
  await (await visible('[data-testid="preview-customer-option"]')).click();
  // The preview page is the real rendering, in a sandboxed frame.
  const frame = await visible('[data-testid="preview-frame"]', 15_000);
  await browser.waitUntil(async () => {
    await browser.switchFrame(frame);
    const body = await browser.execute(() => document.body?.innerText ?? '');
    await browser.switchFrame(null);
    return body.includes('Bonjour Zoé') && body.includes('hiver');
  }, { timeout: 15_000, timeoutMsg: 'the preview never showed "Bonjour Zoé"' });
  await browser.switchFrame(frame);
  const html = await browser.execute(() => document.body.innerHTML);
  await browser.switchFrame(null);
  assert.ok(!html.includes('<script>Dupré'), 'the customer name with HTML is shown as text in the preview');
  assert.ok(html.includes('3 rue des Lilas'), 'the preview has the postal address in the footer');
  await shot('61-campaign-editor-preview');
  await (await visible('[data-testid="preview-width-phone"]')).click();
  await shot('62-campaign-preview-phone');
  await (await visible('[data-testid="campaign-save"]')).click();
  await visible('[data-testid="campaign-saved"]');
});

test('a test goes to the merchant, with the customer chosen for the preview', async () => {
  await fill('[data-testid="test-email"]', 'lea@boutique.test');
  await (await visible('[data-testid="test-send"]')).click();
  await visible('[data-testid="test-outcome"]', 20_000);
  const [msg] = await waitForMessages(1);
  assert.match(msg, /^Subject: .*TEST/m, 'the test is marked as such in its subject');
  assert.match(msg, /^To: .*lea@boutique\.test/m, 'it went to the merchant');
  assert.ok(plain(msg).includes('Bonjour Zoé'), 'with the chosen customer in it');
  await shot('63-test-sent');
});

test('send to the segment: only those who agreed receive it; the progress and results show', async () => {
  await (await visible('[data-testid="control-percent"]')).setValue('0');
  await waitForText('[data-testid="segment-count"]', '2');
  await shot('64-audience');
  await (await visible('[data-testid="campaign-send-now"]')).click();
  await (await visible('[data-testid="confirm-send"]')).click();
  await visible('[data-testid="campaign-progress"]', 15_000);
  await waitForText('[data-testid="progress-sent"]', '2', 30_000);
  await shot('65-campaign-progress');
  const all = await waitForMessages(3);
  const campaign = all.filter((m) => !/^Subject: .*TEST/m.test(m));
  assert.equal(campaign.length, 2, 'two messages: the refusal received nothing');
  const to = campaign.map((m) => m.match(/^To: .*<([^>]+)>/m)[1]).sort();
  assert.deepEqual(to, ['emile@example.com', 'zoe@example.com'], 'the two customers who agreed');
  for (const m of campaign) {
    assert.match(m, /^List-Unsubscribe: <mailto:lea@boutique\.test\?subject=unsubscribe%20[a-z0-9]{20}>/m, 'a per-recipient unsubscribe address');
    assert.match(m, /^Message-ID: <c\d+\.[a-z0-9]{20}@boutique\.test>/m, 'a Message-ID');
    assert.match(m, /^Date: /m, 'a Date');
  }
  const zoe = plain(campaign.find((m) => m.includes('zoe@example.com')));
  assert.ok(zoe.includes('Bonjour Zoé'), 'the personal field is filled in');
  assert.ok(!zoe.includes('<script>Dupré'), 'the name holding HTML is escaped in the HTML part');
  await visible('[data-testid="results"]', 15_000);
  await waitForText('[data-testid="results-sent"]', '2');
  await shot('66-campaign-results');
});

test("the customer's timeline shows the message sent", async () => {
  const page = await invoke('customers_search', { query: 'Émile', limit: 5 });
  await go(`#/customers/${page[0].id}`);
  await browser.waitUntil(async () => (await texts('[data-timeline-entry]')).some((t) => t.includes('Nouveautés de novembre')), {
    timeout: 10_000,
    timeoutMsg: 'the timeline does not show the campaign',
  });
  await shot('67-timeline-email');
});

test('a slow provider: the progress moves, pause stops the sending, resume finishes it', async () => {
  // 12 more customers who agreed, and a provider limited to 2 messages a second.
  for (let i = 0; i < 12; i++) {
    await invoke('customer_create', { input: newCustomer(`Client${i}`, 'Lent', `lent${i}@example.com`, consent), key: `e2e-slow-${i}-0001` });
  }
  const view = await invoke('mail_settings_get', {});
  const slow = { ...view.settings, smtp: { ...view.settings.smtp, limits: { per_second: 2, per_minute: 0, per_day: 0, connections: 1 } } };
  await invoke('mail_settings_save', { input: slow, password: null, key: 'e2e-slow-settings' });
  const before = received().length;
  const draft = await invoke('campaign_create', {
    input: {
      name: 'Soldes',
      content: { a: { subject: 'Les soldes, {{ first_name }}', preheader: '', blocks: [{ type: 'text', markdown: 'Tout à -30 %.' }] }, b: null },
      audience: { filter: { combine: 'all', conditions: [] }, control_percent: 0, ab: null, results_days: 7 },
    },
    key: 'e2e-slow-campaign',
  });
  await go(`#/campaigns/${draft.value.id}`);
  await (await visible('[data-testid="campaign-send-now"]')).click();
  await (await visible('[data-testid="confirm-send"]')).click();
  await visible('[data-testid="campaign-progress"]', 15_000);
  await browser.waitUntil(async () => Number((await texts('[data-testid="progress-sent"]'))[0]) >= 2, {
    timeout: 15_000,
    timeoutMsg: 'the progress never moved',
  });
  await shot('68-campaign-sending');
  await (await visible('[data-testid="campaign-pause"]')).click();
  await waitForText('[data-testid="campaign-state"]', 'En pause');
  await new Promise((r) => setTimeout(r, 1500));
  const atPause = (await invoke('campaign_get', { id: draft.value.id })).progress.sent;
  await new Promise((r) => setTimeout(r, 2500));
  const later = (await invoke('campaign_get', { id: draft.value.id })).progress.sent;
  assert.equal(later, atPause, 'nothing leaves while the campaign is paused');
  assert.ok(atPause < 14, `paused before the end (${atPause} sent)`);
  await shot('69-campaign-paused');
  await (await visible('[data-testid="campaign-resume"]')).click();
  await waitForText('[data-testid="campaign-state"]', 'Envoyée', 30_000);
  await waitForText('[data-testid="progress-sent"]', '14');
  const got = received().slice(before);
  assert.equal(got.length, 14, 'everyone who agreed received it once, across the pause');
});
