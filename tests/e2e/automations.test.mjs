// End-to-end: the merchant turns on the birthday message with a voucher; a customer whose
// birthday is in 3 days receives it through an SMTP server on loopback (Debian's
// python3-aiosmtpd, read back from its Maildir) and the voucher is on her record. A thank-you
// due the same day waits (one automatic message per customer every few days). The app is
// closed, the computer's date moves 6 days on (libfaketime, as after a week's closure), the
// app reopens: the missed birthdays wait for one decision, "Envoyer" sends them, and the
// journal tells why the thank-you waited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, stopApp, browser, shot, go, visible, waitForText, invoke, fill, texts } from './harness.mjs';

const FAKETIME_LIB = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1'].find(existsSync);

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

async function waitForMessages(n, timeout = 45_000) {
  const until = Date.now() + timeout;
  while (Date.now() < until) {
    if (received().length >= n) return received();
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the SMTP server received ${received().length} messages, expected ${n}`);
}

/** The text of a message's parts, decoded (quoted-printable or base64, UTF-8), to search. */
function plain(raw) {
  let text = raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
  text = Buffer.from(text, 'latin1').toString('utf8');
  for (const [, b64] of raw.matchAll(/Content-Transfer-Encoding: base64\r?\n\r?\n([A-Za-z0-9+/=\r\n]+)/g)) {
    text += Buffer.from(b64.replace(/\s/g, ''), 'base64').toString('utf8');
  }
  return text;
}

const consent = { choice: 'express', source: 'counter', wording: "J'accepte de recevoir les nouvelles de la boutique." };
function birthdayIn(days) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  return { day: d.getDate(), month: d.getMonth() + 1, year: null };
}
function newCustomer(first, email, birthday) {
  return {
    customer: {
      first_name: first, last_name: 'Martin', email, phone: '', birthday, language: null, tags: [],
      address: { line1: '', line2: '', postcode: '', city: '', country: null },
    },
    consent, note: '',
  };
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

let lea;

test('a shop with an SMTP provider, sending at any hour, and four customers with birthdays ahead', async () => {
  await visible('#start-empty', 20_000);
  await (await browser.$('#start-empty')).click();
  const mail = (await invoke('mail_settings_get', {})).settings;
  await invoke('mail_settings_save', {
    input: {
      ...mail,
      sender_name: 'Boutique Léa',
      sender_email: 'lea@boutique.test',
      postal_address: '3 rue des Lilas, 69001 Lyon',
      delivery: 'smtp',
      smtp: { ...mail.smtp, preset: 'custom', host: '127.0.0.1', port, tls: 'none', username: '' },
    },
    password: null,
    key: 'e2e-auto-mail-0001',
  });
  // The test must not depend on the hour it runs at: messages may leave all day.
  const rules = await invoke('automation_settings_get', {});
  await invoke('automation_settings_save', {
    settings: { ...rules, time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone, send_from_minute: 0, send_until_minute: 1440 },
    key: 'e2e-auto-rules-001',
  });
  lea = (await invoke('customer_create', { input: newCustomer('Léa', 'lea.martin@example.com', birthdayIn(3)), key: 'e2e-auto-lea-0001' })).value;
  for (const [i, first] of ['Hugo', 'Inès', 'Jules'].entries()) {
    await invoke('customer_create', {
      input: newCustomer(first, `${first.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()}@example.com`, birthdayIn(6 + i)),
      key: `e2e-auto-c${i}-00001`,
    });
  }
});

test('the birthday message is set up with a 5 € voucher and turned on for new occasions', async () => {
  await go('#/campaigns');
  await (await visible('[data-testid="tab-automations"]')).click();
  await visible('[data-testid="automation"][data-kind="birthday"]');
  await shot('80-automations');
  await (await visible('[data-testid="automation"][data-kind="birthday"] [data-testid="automation-configure"]')).click();
  await visible('[data-testid="automation-editor"]');
  await (await visible('[data-testid="birthday-voucher"]')).click();
  await fill('[data-testid="voucher-value"]', '5,00');
  await (await visible('[data-testid="automation-save"]')).click();
  await visible('[data-testid="automation-saved"]');
  await shot('81-automation-birthday');
  const saved = (await invoke('automations_list', {})).find((a) => a.kind === 'birthday');
  assert.deepEqual(saved.config.birthday_voucher, { kind: 'amount', value: 500, days_after: 7 }, 'the voucher is saved in cents');

  // The thank-you, sent the day of a purchase, is turned on too.
  const thanks = (await invoke('automations_list', {})).find((a) => a.kind === 'thanks');
  await invoke('automation_save', {
    id: thanks.id,
    input: { config: { ...thanks.config, thanks_days: 0 }, message_fr: thanks.message_fr, message_en: thanks.message_en },
    key: 'e2e-auto-thanks-01',
  });
  await invoke('automation_enable', { id: thanks.id, mode: { mode: 'new_only' }, key: 'e2e-auto-thanks-on' });

  await go('#/campaigns/automations');
  await (await visible('[data-testid="automation"][data-kind="birthday"] [data-testid="automation-on"]')).click();
  await waitForText('[data-testid="enable-qualifying"]', 'clients remplissent la condition');
  await shot('82-automation-enable');
  await (await visible('[data-testid="enable-confirm"]')).click();
  await browser.waitUntil(
    async () => (await browser.$('[data-testid="automation"][data-kind="birthday"]').getAttribute('data-enabled')) === 'true',
    { timeout: 10_000, timeoutMsg: 'the birthday message never showed as on' },
  );
});

test('Léa, whose birthday is in 3 days, receives it once, with the voucher on her record', async () => {
  const [raw] = await waitForMessages(1);
  const text = plain(raw);
  assert.match(raw, /^To: .*lea\.martin@example\.com/m, 'it went to Léa');
  assert.match(text, /Joyeux anniversaire L=?éa|Joyeux anniversaire Léa/, 'it is her birthday message');
  const status = await invoke('loyalty_status', { customer: lea });
  const voucher = status.vouchers.find((v) => v.source === 'automation');
  assert.ok(voucher, 'a voucher is attached to her record');
  assert.equal(voucher.value, 500, 'worth 5 €');
  assert.ok(text.includes(voucher.code), `the message carries the voucher's code ${voucher.code}`);
  // A sale the same day: its thank-you waits behind the birthday message.
  await invoke('sale_record', {
    input: { customer_id: lea, amount_cents: 1850, occurred_at: null, note: '', category: '', apply: null },
    key: 'e2e-auto-sale-0001',
  });
  await browser.waitUntil(
    async () => (await invoke('automation_preview', { days: 7 })).some((p) => p.kind === 'thanks' && p.state === 'postponed'),
    { timeout: 20_000, timeoutMsg: 'the thank-you never showed as postponed' },
  );
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(received().length, 1, 'nothing else reached Léa: one automatic message per customer every few days');
});

test('after six days closed, the missed birthdays wait for one decision, then leave', async () => {
  await stopApp({ keep: true });
  assert.ok(FAKETIME_LIB, 'libfaketime is installed (Debian package faketime)');
  await startApp({
    reopen: true,
    env: { LD_PRELOAD: FAKETIME_LIB, FAKETIME: '+6d', FAKETIME_DONT_FAKE_MONOTONIC: '1', FAKETIME_NO_CACHE: '1' },
  });
  await go('#/campaigns/automations');
  await waitForText('[data-testid="catch-up"]', '3 anniversaires manqués', 20_000);
  await shot('83-automation-catch-up');
  assert.equal(received().length, 1, 'nothing left before the merchant decides');
  await (await visible('[data-testid="catch-up-send"]')).click();
  await visible('[data-testid="automations-notice"]');
  const all = await waitForMessages(4);
  const to = all.map((r) => /^To: (.*)$/m.exec(r)?.[1] ?? '').join(' ');
  for (const who of ['hugo@', 'ines@', 'jules@']) assert.ok(to.includes(who), `${who} received the birthday message`);
  const lea2 = all.filter((r) => /^To: .*lea\.martin@/m.test(r) && plain(r).includes('anniversaire'));
  assert.equal(lea2.length, 1, 'Léa never receives her birthday twice');
});

test("the thank-you's journal says why it waited", async () => {
  const thanks = (await invoke('automations_list', {})).find((a) => a.kind === 'thanks');
  await go(`#/campaigns/automations/${thanks.id}`);
  await waitForText('[data-testid="automation-journal"]', 'Reporté');
  const rows = await texts('[data-testid="automation-journal"] tr[data-state="postponed"]');
  assert.ok(rows.some((r) => r.includes('limite de messages automatiques par client')), `the postponement gives its reason: ${rows.join(' | ')}`);
  await shot('84-automation-journal');
});

test('in English, names with markup read as text in the journal, and the timeline says why a message was not sent', async () => {
  // The app's clock is 6 days ahead of this process's: a birthday 8 days from here is 2 days away there.
  const hostile = '<img src=x onerror="window.__pwned=1">Zoé 😀';
  const zoe = (await invoke('customer_create', { input: newCustomer(hostile, 'zoe.martin@example.com', birthdayIn(8)), key: 'e2e-auto-zoe-0001' })).value;
  const noMail = (await invoke('customer_create', { input: newCustomer('<b>Sans</b> adresse', '', birthdayIn(8)), key: 'e2e-auto-nomail-01' })).value;
  await go('#/settings');
  await (await visible('#locale')).selectByAttribute('value', 'en');
  await (await browser.$('#save-settings')).click();
  const birthday = (await invoke('automations_list', {})).find((a) => a.kind === 'birthday');
  await browser.waitUntil(
    async () => (await invoke('automation_journal', { id: birthday.id, before: null, limit: 50 })).some((j) => j.customer_id === noMail && j.state === 'skipped'),
    { timeout: 30_000, timeoutMsg: 'the birthday of the customer without an address was never looked at' },
  );
  await browser.waitUntil(async () => received().some((r) => r.includes('<zoe.martin@example.com>')), {
    timeout: 45_000,
    timeoutMsg: 'Zoé never received her birthday message',
  });
  await go(`#/campaigns/automations/${birthday.id}`);
  await waitForText('[data-testid="automation-journal"]', 'Zoé 😀');
  const rows = await texts('[data-testid="automation-journal"] tr');
  assert.ok(rows.some((r) => r.includes('<img src=x onerror="window.__pwned=1">Zoé 😀')), `the name reads as typed: ${rows.join(' | ')}`);
  assert.ok(rows.some((r) => r.includes('<b>Sans</b> adresse') && r.includes('No email address')), `the reason is in English: ${rows.join(' | ')}`);
  assert.equal((await browser.$$('[data-testid="automation-journal"] img')).length, 0, 'no markup from a name becomes an element');
  assert.equal(await browser.execute(() => window.__pwned ?? null), null, 'no script from a name ran');
  await browser.execute(() => document.querySelector('[data-testid="automation-journal"]')?.scrollIntoView({ block: 'center' }));
  await browser.pause(300);
  await shot('85-automation-journal-en');
  await go(`#/customers/${noMail}`);
  await waitForText('#timeline', 'Automatic message “Birthday” not sent');
  await waitForText('#timeline', 'Reason: No email address.');
  await browser.execute(() => document.querySelector('#timeline')?.scrollIntoView({ block: 'center' }));
  await browser.pause(300);
  await shot('86-timeline-reason-en');
  // The sender nudges the automation clock when an automatic message left: her page says so
  // within seconds, not at the next regular check.
  await browser.waitUntil(
    async () => (await invoke('automation_journal', { id: birthday.id, before: null, limit: 50 })).some((j) => j.customer_id === zoe && j.state === 'sent'),
    { timeout: 15_000, timeoutMsg: 'the message left but was not recorded as sent within seconds (the regular check is every 3 minutes)' },
  );
  await go(`#/customers/${zoe}`);
  await waitForText('#timeline', 'Automatic message “Birthday” sent');
});
